"""GC workload for gputrace's CPython test: records every collection through gc.callbacks.

Usage: gc_callbacks.py [collections] [--wait]
With --wait it reads one line from stdin before starting, so a tracer can attach first.
Prints, on CLOCK_MONOTONIC nanoseconds (the tracer's clock):
  window <begin> <end>
  gc <generation> <start> <stop> <collected>     (one line per collection inside the window)
"""
import gc
import sys
import time

collections = []
pending = {}


def on_gc(phase, info):
    now = time.monotonic_ns()
    if phase == "start":
        pending["start"] = now
    else:
        collections.append((info["generation"], pending.pop("start", now), now, info["collected"]))


def churn(rounds):
    keep = []
    for i in range(rounds):
        # reference cycles: only the cycle collector frees them
        for _ in range(300):
            a, b = [], []
            a.append(b)
            b.append(a)
        keep.append([[j] for j in range(2000)])
        if len(keep) > 30:
            keep.clear()
        if i % 4 == 0:
            gc.collect(i % 3)
        time.sleep(0.002)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 150
    if "--wait" in sys.argv:
        sys.stdin.readline()
    gc.collect()
    gc.callbacks.append(on_gc)
    begin = time.monotonic_ns()
    churn(rounds)
    end = time.monotonic_ns()
    gc.callbacks.remove(on_gc)
    out = [f"window {begin} {end}"]
    out += [f"gc {g} {s} {e} {c}" for g, s, e, c in collections]
    print("\n".join(out), flush=True)


main()
