"""A stand-in for a Python inference server, so `scripts/run.sh` has something to show on a
host without GPUs: it "serves" batches, building short-lived object graphs whose cyclic
garbage makes CPython's collector pause the serving thread, as real servers' do.
Run with /usr/bin/python3.11 (Debian's build has the USDT probes gputrace attaches to)."""
import gc
import time


class Request:
    def __init__(self, n):
        self.tokens = [[i] for i in range(n)]
        self.me = self  # a cycle: only the cyclic collector frees it


def serve_batch(size):
    batch = [Request(200) for _ in range(size)]
    return sum(len(r.tokens) for r in batch)


while True:
    for _ in range(50):
        serve_batch(64)
    gc.collect()  # the periodic full collection some servers run between batches
    time.sleep(0.05)
