"""A burst of GC pauses, then silence: gputrace's durable-capture test.

Usage: gc_burst.py [collections]
Waits for one line on stdin (so a recorder can attach first), runs gc.collect() that many
times (default 50) with automatic collection off, prints "done <count>", then sleeps until
killed: the host stays quiet, so nothing else would push a chunk out.
"""
import gc
import sys
import time

count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
gc.disable()
sys.stdin.readline()
for _ in range(count):
    gc.collect()
print(f"done {count}", flush=True)
while True:
    time.sleep(60)
