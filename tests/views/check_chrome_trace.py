#!/usr/bin/env python3
"""Structural check of a Chrome trace event JSON file (what `gputrace report --format
perfetto` and trace.json hold), as ui.perfetto.dev and chrome://tracing read it:

- a JSON object with a "traceEvents" array (and "displayTimeUnit" "ns" here);
- every event has a string "ph" and "name" and an integer "pid"; phases used are
  X (complete), i (instant), C (counter), M (metadata);
- X: numeric "ts" and "dur" >= 0, integer "tid"; X events of one thread nest (no partial
  overlap: the importer would misplace them);
- i: numeric "ts", scope "s" in t/p/g; C: numeric "ts" and numeric "args" values;
- M: process_name / thread_name (args.name) / *_sort_index (args.sort_index);
- every pid and thread carrying events is named.

Usage: check_chrome_trace.py TRACE.json [--expect-process NAME ...] [--expect-event NAME ...]
Prints a summary; exits 1 listing what is wrong.
"""
import argparse
import json
import sys
from collections import defaultdict


def check(trace, expect_processes, expect_events):
    errors = []
    if not isinstance(trace, dict) or not isinstance(trace.get("traceEvents"), list):
        return ["top level must be an object with a traceEvents array"], {}
    if trace.get("displayTimeUnit") not in (None, "ns", "ms"):
        errors.append(f"displayTimeUnit {trace.get('displayTimeUnit')!r} is neither ns nor ms")
    named_pids, named_threads = {}, set()
    used_pids, used_threads = set(), set()
    slices = defaultdict(list)
    counts = defaultdict(int)
    for n, e in enumerate(trace["traceEvents"]):
        where = f"event {n}"
        if not isinstance(e, dict):
            errors.append(f"{where}: not an object")
            continue
        ph, name, pid = e.get("ph"), e.get("name"), e.get("pid")
        if not isinstance(ph, str) or not isinstance(name, str) or not isinstance(pid, int):
            errors.append(f"{where}: needs string ph and name and integer pid: {e}")
            continue
        counts[ph] += 1
        if ph == "M":
            args = e.get("args")
            if name in ("process_name", "thread_name"):
                if not isinstance(args, dict) or not isinstance(args.get("name"), str):
                    errors.append(f"{where}: {name} needs args.name")
                    continue
                if name == "process_name":
                    named_pids[pid] = args["name"]
                else:
                    named_threads.add((pid, e.get("tid")))
            elif name in ("process_sort_index", "thread_sort_index"):
                if not isinstance(args, dict) or not isinstance(args.get("sort_index"), int):
                    errors.append(f"{where}: {name} needs an integer args.sort_index")
            else:
                errors.append(f"{where}: unknown metadata {name!r}")
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or isinstance(ts, bool):
            errors.append(f"{where}: needs a numeric ts: {e}")
            continue
        used_pids.add(pid)
        if ph == "X":
            dur, tid = e.get("dur"), e.get("tid")
            if not isinstance(dur, (int, float)) or dur < 0 or not isinstance(tid, int):
                errors.append(f"{where}: X needs dur >= 0 and an integer tid: {e}")
                continue
            used_threads.add((pid, tid))
            slices[(pid, tid)].append((ts, ts + dur, name))
        elif ph == "i":
            if e.get("s") not in ("t", "p", "g"):
                errors.append(f"{where}: instant scope must be t, p or g: {e}")
            if e.get("s", "t") == "t":
                used_threads.add((pid, e.get("tid")))
        elif ph == "C":
            args = e.get("args")
            if not isinstance(args, dict) or not args or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in args.values()):
                errors.append(f"{where}: counter needs numeric args: {e}")
        else:
            errors.append(f"{where}: phase {ph!r} is not one gputrace writes")
    for pid in sorted(used_pids - set(named_pids)):
        errors.append(f"pid {pid} carries events but has no process_name")
    for t in sorted(used_threads - named_threads, key=str):
        errors.append(f"thread {t} carries events but has no thread_name")
    for thread, items in slices.items():
        items.sort()
        open_ends = []
        for begin, end, name in items:
            while open_ends and open_ends[-1] <= begin:
                open_ends.pop()
            if open_ends and end > open_ends[-1]:
                errors.append(f"thread {thread}: slice {name!r} at {begin} overlaps its parent without nesting")
            open_ends.append(end)
    names = set(named_pids.values())
    for p in expect_processes:
        if p not in names:
            errors.append(f"no process (track group) named {p!r}; have {sorted(names)}")
    event_names = {e.get("name") for e in trace["traceEvents"] if isinstance(e, dict) and e.get("ph") != "M"}
    for ev in expect_events:
        if ev not in event_names:
            errors.append(f"no event named {ev!r}")
    summary = {"events": len(trace["traceEvents"]), "by_phase": dict(counts), "processes": len(named_pids),
               "threads": len(named_threads)}
    return errors, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--expect-process", action="append", default=[])
    ap.add_argument("--expect-event", action="append", default=[])
    args = ap.parse_args()
    with open(args.trace) as f:
        trace = json.load(f)
    errors, summary = check(trace, args.expect_process, args.expect_event)
    print(f"check_chrome_trace: {args.trace}: {summary}")
    for e in errors:
        print(f"  FAIL {e}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
