"""One short and one long full collection, for gputrace's gc_pause_long check.

Usage: long_collection.py OBJECTS [--wait]   (--wait: read one line from stdin first)
Prints `collect <generation> <start_ns> <stop_ns>` (CLOCK_MONOTONIC) for each explicit collection.
"""
import gc
import os
import sys
import time

objects = int(sys.argv[1])
if "--wait" in sys.argv:
    sys.stdin.readline()
gc.disable()  # only the two explicit collections


def collect():
    start = time.monotonic_ns()
    gc.collect()
    print("collect", 2, start, time.monotonic_ns(), flush=True)


collect()  # short: almost nothing to traverse
cycles = [[] for _ in range(objects)]
for i, c in enumerate(cycles):
    c.append(cycles[i - 1])  # one big reference cycle: every object is traversed
collect()  # long
os._exit(0)  # no collection at interpreter shutdown: it would traverse the cycle once more
