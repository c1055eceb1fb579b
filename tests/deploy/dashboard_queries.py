#!/usr/bin/env python3
"""Every PromQL expression the fleet runs, against a live Prometheus.

A real Prometheus (Debian's) scrapes `gputrace daemon --replay` of each bundled capture
(tests/fixtures/scenarios/) and of two GPU scenarios the unit tier builds from them (their
GPU records are SYNTHETIC: no GPU was where the captures were recorded; see
tests/unit/scenarios_test.cc), with deploy/prometheus/gputrace-rules.yaml loaded. Then each
query of deploy/grafana/gputrace.json (panels and template variables, with Grafana's variables
filled in as "All" does), each rule's expression and each recorded series goes through the
HTTP query API: it must succeed, and return series unless EXPECTED_EMPTY names it with the
reason these captures cannot fill it. A query listed there that does return series fails too,
so the list says what is true.

usage: dashboard_queries.py --gputrace BIN --unit-tests BIN --source DIR --work DIR
Exit status: 0 all good, 1 a query failed or disagreed, 77 prometheus is not installed.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

# What the captures cannot fill, and why. Replays export constant counters: rate() and
# increase() over them are 0, so alerts on rates stay quiet while the expressions still return
# their (zero) series.
EXPECTED_EMPTY = {
    "alert GputraceGcPauseOver200ms": "no GC pause in the captures lasts 200 ms (CPython's are milliseconds)",
    "alert GputraceGcShareHigh": "a replay's pause counters stand still: the 5-minute rate is 0",
    "alert GputraceGpuIdleFromGc": "a replay's idle counter stands still: the 5-minute rate is 0",
    "alert GputraceLosingEvents": "a replay's loss counters stand still",
    "alert GputraceShedding": "a replay's loss counters stand still",
    "alert GputraceDown": "every daemon answers",
    "alert GputraceDmaMappingGrowth": "no capture holds a dma_mapping_growth finding",
}

VARIABLES = {  # Grafana's values when "All" is chosen; the intervals a 1 s scrape allows
    "$job": "gputrace",
    "$instance": ".*",
    "$comm": ".*",
    "$__rate_interval": "20s",
    "$__interval": "5s",
    "$__range": "1m",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(expr):
    for name in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace("${" + name[1:] + "}", VARIABLES[name]).replace(name, VARIABLES[name])
    if "$" in expr:
        raise ValueError(f"unknown variable in {expr!r}")
    return expr


def query(base, expr):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # a bad query answers 400 with a JSON error
        return json.load(e)


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def captures(args):
    """The bundled captures, and the GPU scenarios the unit tier writes from them."""
    scenario_dir = os.path.join(args.work, "unit")
    os.makedirs(scenario_dir, exist_ok=True)
    subprocess.run([args.unit_tests, "--gtest_filter=Scenario.GcPauseOfTheIssuingProcess:Scenario.StrictModeUnmapStormDuringACopy"],
                   cwd=scenario_dir, check=True, stdout=subprocess.DEVNULL)
    fixtures = os.path.join(args.source, "tests/fixtures/scenarios")
    out = {f[:-7]: os.path.join(fixtures, f) for f in sorted(os.listdir(fixtures)) if f.endswith(".gtrace")}
    for name in ("gc_pause", "strict_unmap_storm"):
        out["synthetic-gpu-" + name] = os.path.join(scenario_dir, "scenarios", name + ".gtrace")
    return out


def start_daemon(gputrace, capture, log):
    p = subprocess.Popen([gputrace, "daemon", "--replay", capture, "--listen", "127.0.0.1:0", "--interval", "1s"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in p.stderr:
        log.write(line)
        m = re.search(r"metrics at http://([0-9.:]+)/metrics", line)
        if m:
            return p, m.group(1)
    raise RuntimeError(f"the daemon replaying {capture} exited without serving metrics (see {log.name})")


def collect_queries(source):
    """(name, expression) of every dashboard query, template variable and rule."""
    dash = json.load(open(os.path.join(source, "deploy/grafana/gputrace.json")))
    out = []
    ids = set()
    for p in dash["panels"]:
        assert p["id"] not in ids, f"panel id {p['id']} twice"
        ids.add(p["id"])
        for t in p.get("targets", []):
            assert t["datasource"]["uid"] == "${datasource}", f"panel {p['title']} names a fixed data source"
            out.append((f"panel {p['title']}/{t['refId']}", fill(t["expr"])))
    for v in dash["templating"]["list"]:
        if v["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", v["query"]["query"])
        assert m, f"variable {v['name']}: expected label_values(SELECTOR, LABEL)"
        out.append((f"variable {v['name']}", f"group by ({m.group(2)}) ({fill(m.group(1))})"))
    import yaml  # python3-yaml (scripts/install-deps.sh)
    rules = yaml.safe_load(open(os.path.join(source, "deploy/prometheus/gputrace-rules.yaml")))
    for g in rules["groups"]:
        for r in g["rules"]:
            if "record" in r:
                out.append((f"rule {r['record']}", r["expr"]))
                out.append((f"recorded {r['record']}", r["record"]))
            else:
                out.append((f"alert {r['alert']}", r["expr"]))
    return out


def main():
    ap = argparse.ArgumentParser()
    for a in ("--gputrace", "--unit-tests", "--source", "--work"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    for a in ("gputrace", "unit_tests", "source", "work"):
        setattr(args, a, os.path.abspath(getattr(args, a)))
    if not shutil.which("prometheus"):
        print("prometheus is not installed (apt-get install prometheus)")
        return 77
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    queries = collect_queries(args.source)
    daemons, targets = [], []
    log = open(os.path.join(args.work, "daemons.log"), "w")
    prom = None
    try:
        for name, path in captures(args).items():
            p, addr = start_daemon(args.gputrace, path, log)
            daemons.append(p)
            targets.append({"targets": [addr], "labels": {"capture": name}})
        port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [os.path.join(args.source, "deploy/prometheus/gputrace-rules.yaml")],
            "scrape_configs": [{"job_name": "gputrace", "static_configs": targets}],
        }
        with open(os.path.join(args.work, "prometheus.yml"), "w") as f:
            json.dump(config, f)  # JSON is YAML
        prom = subprocess.Popen(["prometheus", f"--config.file={args.work}/prometheus.yml",
                                 f"--storage.tsdb.path={args.work}/data", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(args.work, "prometheus.log"), "w"))
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                active = get_json(f"{base}/api/v1/targets")["data"]["activeTargets"]
                if len(active) == len(targets) and all(t["health"] == "up" for t in active):
                    break
            except OSError:
                pass
            if time.time() > deadline or prom.poll() is not None:
                print(f"Prometheus did not scrape every daemon within 60 s (see {args.work}/prometheus.log)")
                return 1
            time.sleep(0.5)
        time.sleep(25)  # the 20 s rate windows fill, the rules run twenty times

        failures = 0
        print(f"{len(queries)} expressions, {len(targets)} daemons ({', '.join(t['labels']['capture'] for t in targets)})")
        for name, expr in queries:
            r = query(base, expr)
            if r.get("status") != "success":
                print(f"FAIL  {name}: {r.get('errorType')}: {r.get('error')}\n      {expr}")
                failures += 1
                continue
            n = len(r["data"]["result"])
            why_empty = EXPECTED_EMPTY.get(name)
            if why_empty and n:
                print(f"FAIL  {name}: expected empty ({why_empty}), got {n} series: {r['data']['result'][:2]}")
                failures += 1
            elif not why_empty and not n:
                print(f"FAIL  {name}: no series\n      {expr}")
                failures += 1
            else:
                print(f"ok    {name}: {n} series" + (f" (empty: {why_empty})" if why_empty else ""))
        unknown = set(EXPECTED_EMPTY) - {name for name, _ in queries}
        for name in sorted(unknown):
            print(f"FAIL  EXPECTED_EMPTY names {name!r}, which is no query any more")
            failures += 1
        print(f"{len(queries) - failures} of {len(queries)} as expected")
        return 1 if failures else 0
    finally:
        for p in daemons + ([prom] if prom else []):
            p.terminate()
        for p in daemons + ([prom] if prom else []):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
