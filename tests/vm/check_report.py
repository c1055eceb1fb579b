#!/usr/bin/python3
"""Checks one vm-tier guest run (run-vm-tier.sh) against what really happened in it.

Inputs: the guest's console log (VMTIER lines from guest/init.sh, EDU_USER lines from
edu_user, the fixture module's dev_info lines) and the directory the guest's result tar
was unpacked into (capture.gtrace, gputrace.stderr, tracefs.txt, dmesg.txt).

Two groups of checks, printed as one PASS/FAIL table:

  fixture  the guest did what the test assumes: NVMe data round trips, the module leaked
           exactly `leak` mappings, the leaky edu_user left K mapped, the edu device took
           an IOMMU fault, the kernel's own tracefs counts agree, no kernel warning.
  report   `gputrace report <capture> --format json` says the same: the 3 unbind leaks
           and the K owner-exit leaks with their bus addresses, owner and stack, nothing
           else reported as leaked, the fault on the edu device, per-device DMA-API totals
           equal to tracefs's, losses accounted for.

Exit status 0 when every check passed. Standard library only (runs with /usr/bin/python3).
"""

import argparse
import json
import os
import re
import subprocess
import sys

LEAKS = 3          # insmod gputrace_edu.ko leak=3 (guest/init.sh)
XFERS = 4          # xfer=4: each round trip maps and unmaps two pages
FAULT_BUS = 0x100000
EDU_SIZE = 4096    # every mapping the fixture makes is one page
API = ("map_page", "unmap_page", "map_sg", "unmap_sg", "alloc", "free")
TAINT_OOT = 4096 | 8192   # O (out-of-tree module) and E (unsigned module): expected


class Table:
    """Collects check results and prints them as a table."""

    def __init__(self):
        self.rows = []

    def check(self, group, name, ok, detail=""):
        self.rows.append((group, name, bool(ok), detail))
        return bool(ok)

    def info(self, group, name, detail):
        self.rows.append((group, name, None, detail))

    def failed(self):
        return [r for r in self.rows if r[2] is False]

    def print(self, title):
        print(title)
        width = max((len(r[1]) for r in self.rows), default=10)
        for group, name, ok, detail in self.rows:
            status = "info" if ok is None else ("PASS" if ok else "FAIL")
            print(f"  {status:4}  {group:7}  {name:<{width}}  {detail}")
        n_fail = len(self.failed())
        n_pass = sum(1 for r in self.rows if r[2] is True)
        print(f"  => {'PASS' if not n_fail else 'FAIL'}: {n_pass} passed, {n_fail} failed")


# ------------------------------------------------------------------ console log

def kv(text):
    """key=value pairs of one line (values run to the next space)."""
    return dict(re.findall(r"(\w+)=(\S*)", text))


def parse_console(path):
    """Everything the guest printed that the checks need."""
    c = {"vm": {}, "tracefs": {}, "dropped": {}, "kprobe": {}, "leaks": [], "longlived": {},
         "user": [], "user_map_lines": [], "user_keep": [], "remove": None, "dmar": [],
         "roundtrips": [], "rc": {}, "tracefs_errors": [], "iommu_type": {}, "stderr": [], "recording_to": False, "taint": None}
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    for line in lines:
        m = re.search(r"VMTIER (.*)$", line)
        if m:
            body = m.group(1)
            if body.startswith("tracefs api="):
                d = kv(body)
                c["tracefs"][(d["device"], d["api"])] = int(d["count"])
            elif body.startswith("tracefs_dropped "):
                d = kv(body)
                c["dropped"][d["api"]] = int(d["dropped"])
            elif body.startswith("tracefs_kprobe "):
                d = kv(body)
                c["kprobe"][d["api"]] = (int(d["hits"]), int(d["missed"]))
            elif body.startswith("iommu_group "):
                d = kv(body)
                for dev in d.get("devices", "").split(","):
                    if dev:
                        c["iommu_type"][dev] = d.get("type")
            elif body.startswith("tracefs_error "):
                c["tracefs_errors"].append(body)
            elif body.startswith("gputrace_stderr:"):
                c["stderr"].append(body.split(":", 1)[1].strip())
                if "recording to" in body:
                    c["recording_to"] = True
            elif body.startswith("dmesg:"):
                parse_dmesg(c, body)
            elif body.startswith("nvme_roundtrip="):
                c["roundtrips"].append(kv(body))
            elif re.match(r"(insmod|rmmod|recorder_exit|recorder_died|out_written) rc=", body):
                c["rc"][body.split()[0]] = body.split("rc=")[1]
            elif body.startswith("edu_user "):
                d = kv(body)
                c["rc"]["edu_user leaky=" + d["leaky"]] = d["rc"]
            else:
                for k, v in kv(body).items():
                    c["vm"].setdefault(k, v)
                if body.startswith("done "):
                    c["vm"]["done"] = "1"
            continue
        m = re.match(r"EDU_USER (.*)$", line)
        if m:
            d = kv(m.group(1))
            c["user"].append({"pid": int(d["pid"]), "comm": d["comm"], "leaky": d["leaky"] == "1",
                              "bus": int(d["bus"], 16), "size": int(d["size"]), "dir": d["dir"]})
    return c


def parse_dmesg(c, body):
    text = body.split("] ", 1)[-1]
    d = kv(text)
    if re.search(r"gputrace_edu \S+: LEAK \d+ ", text):
        c["leaks"].append({"bus": int(d["bus"], 16), "size": int(d["size"]), "dir": d["dir"]})
    elif re.search(r": LONGLIVED (coherent|streaming) bus=", text):
        c["longlived"][re.search(r"LONGLIVED (\w+)", text).group(1)] = int(d["bus"], 16)
    elif ": USER MAP " in text:
        c["user_map_lines"].append(d)
    elif ": USER KEEP " in text:
        c["user_keep"].append(d)
    elif ": REMOVE outstanding " in text:
        c["remove"] = (int(d["module"]), int(d["user"]))
    elif "DMAR: [DMA" in text:
        c["dmar"].append(text)
    elif ": FAULT dma " in text:
        c["vm"]["fault_ret"] = d.get("ret")


# --------------------------------------------------------------- fixture checks

# iommu.strict=1 gives DMA domains, iommu.strict=0 flush-queue (lazy) DMA-FQ domains
DOMAIN_TYPE = {"strict": "DMA", "lazy": "DMA-FQ"}


def check_fixture(t, c, user_k, mode):
    g = "fixture"
    vm = c["vm"]
    edu = vm.get("edu_pci", "none")
    nvme = vm.get("nvme_work_pci", "none")
    t.check(g, "guest finished", vm.get("done") == "1" and c["rc"].get("out_written") == "0",
            f"done={vm.get('done', 'no')} out_written={c['rc'].get('out_written', '?')}")
    t.check(g, "devices found", edu != "none" and nvme != "none", f"edu={edu} nvme={nvme}")
    types = {d: c["iommu_type"].get(d) for d in (edu, nvme)}
    t.check(g, f"iommu domains are {mode}", all(v == DOMAIN_TYPE.get(mode) for v in types.values()),
            f"{types}")
    rts = [r.get("nvme_roundtrip") for r in c["roundtrips"]]
    t.check(g, "nvme O_DIRECT data round trips", rts == ["ok", "ok"], f"{rts}")
    for step in ("insmod", "edu_user leaky=0", "edu_user leaky=1", "rmmod"):
        t.check(g, f"{step} exit status", c["rc"].get(step) == "0", f"rc={c['rc'].get(step)}")

    t.check(g, "module LEAK lines", len(c["leaks"]) == LEAKS,
            "bus " + ", ".join(hex(x["bus"]) for x in c["leaks"]))
    users = {True: [u for u in c["user"] if u["leaky"]], False: [u for u in c["user"] if not u["leaky"]]}
    for leaky in (False, True):
        us = users[leaky]
        pids = {u["pid"] for u in us}
        t.check(g, f"edu_user leaky={int(leaky)} mapped K={user_k}",
                len(us) == user_k and len(pids) == 1,
                f"pid={','.join(map(str, pids))} bus " + ", ".join(hex(u["bus"]) for u in us))
    keep = {int(d["bus"], 16) for d in c["user_keep"]}
    t.check(g, "leaky file left its mappings mapped",
            keep == {u["bus"] for u in users[True]} and len(c["user_keep"]) == user_k,
            f"USER KEEP {len(c['user_keep'])}")
    t.check(g, "outstanding at remove", c["remove"] == (LEAKS, user_k),
            f"module,user={c['remove']}")
    short = edu.split(":", 1)[-1] if edu != "none" else "?"
    faults = [x for x in c["dmar"] if f"[{short}]" in x and f"fault addr {FAULT_BUS:#x}" in x]
    t.check(g, "DMAR fault on edu", len(faults) >= 1 and vm.get("fault_ret") == "0",
            faults[0] if faults else f"dmar lines: {c['dmar']}")

    # The kernel's own count over the recording window (tracefs hist triggers).
    tf = c["tracefs"]
    cnt = lambda dev, api: tf.get((dev, api), 0)
    t.info(g, "tracefs counted via", vm.get("tracefs_count_via", "?"))
    via_kprobe = vm.get("tracefs_count_via") == "kprobe"
    # A kprobe event nested in another on the same CPU is skipped, and the kernel counts it
    # exactly (kprobe_profile's nmissed): the reference is then short by exactly that much,
    # which the comparisons below allow for, per api.
    t.check(g, "tracefs complete", all(c["dropped"].get(a) == 0 for a in API)
            and (not via_kprobe or sorted(c["kprobe"]) == sorted(API)) and not c["tracefs_errors"],
            f"dropped={c['dropped']}" + (f" kprobe(hits,missed)={c['kprobe']}" if via_kprobe else "")
            + "".join("; " + e for e in c["tracefs_errors"]))
    edu_maps = XFERS * 2 + 1 + LEAKS + 2 * user_k   # round trips, long-lived, leaks, edu_user
    t.check(g, "tracefs edu map/unmap",
            cnt(edu, "map_page") == edu_maps and cnt(edu, "unmap_page") == edu_maps - LEAKS - user_k,
            f"map_page={cnt(edu, 'map_page')} (want {edu_maps}) unmap_page={cnt(edu, 'unmap_page')} "
            f"(want {edu_maps - LEAKS - user_k})")
    t.check(g, "tracefs edu coherent alloc/free", cnt(edu, "alloc") == 1 and cnt(edu, "free") == 1,
            f"alloc={cnt(edu, 'alloc')} free={cnt(edu, 'free')}")
    nv = {a: cnt(nvme, a) for a in API}
    kmiss = {a: m for a, (_, m) in c["kprobe"].items()}
    balanced = lambda m, u: abs(nv[m] - nv[u]) <= kmiss.get(m, 0) + kmiss.get(u, 0)
    t.check(g, "tracefs nvme balanced",
            nv["map_page"] + nv["map_sg"] > 0 and balanced("map_page", "unmap_page")
            and balanced("map_sg", "unmap_sg"), f"{nv}" + (f" kprobe missed={kmiss}" if any(kmiss.values()) else ""))
    taint = int(vm.get("taint", "-1"))
    t.check(g, "no kernel warning/oops", taint >= 0 and taint & ~TAINT_OOT == 0, f"taint={taint}")


# ---------------------------------------------------------------- report checks
#
# Field names of schema "gputrace.report/1" (built in exporters/report/report_model.cc):
#   devices[]: name, iommu_mode ("strict"/"lazy"/...), dma_api.{page,sg,coherent}.{maps,unmaps}
#   findings[]: kind, pid, comm, device, evidence{bus_address "0x..", size, direction,
#               owner{pid,comm,kind}, stack[]} for leaks; evidence.iova "0x.." for iommu_fault
#   losses[]: {name, count}; BPF recursion misses are named "missed:<bpf program>", and
#             programs are named after their hook (dma_map_page_tp_btf, dma_map_sg_kprobe, ...)

# tracefs api -> (dma_api group, counter) in the report
REPORT_API = {"map_page": ("page", "maps"), "unmap_page": ("page", "unmaps"),
              "map_sg": ("sg", "maps"), "unmap_sg": ("sg", "unmaps"),
              "alloc": ("coherent", "maps"), "free": ("coherent", "unmaps")}


def as_int(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            return None
    return None


def device_totals(dev):
    """{api: count} of one report device entry (0 where the device has no DMA stats)."""
    dma = dev.get("dma_api", {})
    return {api: as_int(dma.get(group, {}).get(counter, 0)) or 0 for api, (group, counter) in REPORT_API.items()}


def api_misses(report):
    """Per-api BPF recursion misses from losses[] ("missed:<program>")."""
    out = {}
    for loss in report.get("losses", []):
        name = str(loss.get("name", ""))
        if not name.startswith("missed:"):
            continue
        for api in API:
            if re.match(rf"dma_{api}_", name[len("missed:"):]):
                out[api] = out.get(api, 0) + (as_int(loss.get("count")) or 0)
    return out


def check_report(t, c, report, user_k, want_mode):
    g = "report"
    edu = c["vm"].get("edu_pci")
    t.check(g, "schema", report.get("schema") == "gputrace.report/1", f"schema={report.get('schema')}")
    findings = report.get("findings", [])
    leaks = [f for f in findings if str(f.get("kind", "")).startswith("dma_leak")]
    unbind = [f for f in leaks if f.get("kind") == "dma_leak_unbind"]
    owner_exit = [f for f in leaks if f.get("kind") == "dma_leak_owner_exit"]
    bus = lambda f: as_int(f.get("evidence", {}).get("bus_address"))

    # the module's deliberate leaks, found at unbind
    want = {x["bus"]: x for x in c["leaks"]}
    got = [bus(f) for f in unbind]
    t.check(g, f"dma_leak_unbind x{LEAKS} on edu",
            len(unbind) == LEAKS and sorted(got) == sorted(want) and all(f.get("device") == edu for f in unbind),
            f"got {[hex(b) if b is not None else None for b in got]} on "
            f"{sorted({f.get('device') for f in unbind})}, want {[hex(b) for b in want]} on {edu}")
    for f in unbind:
        check_leak_evidence(t, f, want.get(bus(f)), None)

    # the leaky process's mappings, found after it exited and the grace period passed
    leaky = [u for u in c["user"] if u["leaky"]]
    want_u = {u["bus"]: u for u in leaky}
    got_u = [bus(f) for f in owner_exit]
    pid = leaky[0]["pid"] if leaky else None
    t.check(g, f"dma_leak_owner_exit x{user_k} for edu_user",
            len(owner_exit) == user_k and sorted(got_u) == sorted(want_u)
            and all(f.get("device") == edu and as_int(f.get("pid")) == pid and f.get("comm") == "edu_user"
                    for f in owner_exit),
            f"got {[(hex(b) if b is not None else None, f.get('pid'), f.get('comm'), f.get('device')) for b, f in zip(got_u, owner_exit)]}"
            f", want {[hex(b) for b in want_u]} pid={pid} comm=edu_user on {edu}")
    for f in owner_exit:
        check_leak_evidence(t, f, want_u.get(bus(f)), pid)

    # nothing else is a leak: not NVMe, not the long-lived mappings, not the well-behaved
    # edu_user, not the same leaks twice
    other = [f for f in leaks if f not in unbind and f not in owner_exit]
    t.check(g, "no other leak findings", not other,
            "; ".join(f"{f.get('kind')} {f.get('device')} pid={f.get('pid')} bus={bus(f)}" for f in other))
    innocent = set(c["longlived"].values()) | {u["bus"] for u in c["user"] if not u["leaky"]}
    t.info(g, "innocent bus addresses", ", ".join(hex(b) for b in sorted(innocent)) +
           " (may be reused by leaks in strict mode; judged by the counts above)")

    # the IOMMU fault the module provoked
    faults = [f for f in findings if f.get("kind") == "iommu_fault"]
    on_edu = [f for f in faults if f.get("device") == edu]
    addr = [as_int(f.get("evidence", {}).get("iova")) for f in on_edu]
    t.check(g, "iommu_fault on edu", len(on_edu) >= 1 and all(a == FAULT_BUS for a in addr),
            f"{len(on_edu)} on edu ({len(faults)} in all), address {[hex(a) if a else None for a in addr]}")

    # per-device DMA-API totals against the kernel's own count
    misses = api_misses(report)
    devs = {d.get("name"): d for d in report.get("devices", [])}
    short = {api: 0 for api in API}   # tracefs - ours, summed over devices
    extra = {api: 0 for api in API}   # ours - tracefs: only what the reference kprobes missed
    kmiss = {a: m for a, (_, m) in c["kprobe"].items()}
    for name in sorted({d for d, _ in c["tracefs"]} | {n for n in devs if n}):
        ours = device_totals(devs.get(name, {}))
        row, ok = [], True
        for api in API:
            theirs = c["tracefs"].get((name, api), 0)
            o = ours[api]
            extra[api] += max(o - theirs, 0)
            ok = ok and o <= theirs + kmiss.get(api, 0)   # more than the kernel did is wrong
            short[api] += max(theirs - o, 0)
            row.append(f"{api}={o}" + (f"/{theirs}" if o != theirs else ""))
        listed = name in devs or not theirs_any(c, name)
        t.check(g, f"DMA-API totals {name}", ok and listed,
                " ".join(row) + ("" if listed else " (device missing from report)"))
    # A BPF program already running on a CPU skips the events nested in it and counts them
    # as recursion misses (per program, not per device): ours + misses == tracefs.
    t.check(g, "reference misses cover our surplus", all(extra[a] <= kmiss.get(a, 0) for a in API),
            f"ours-tracefs={ {a: n for a, n in extra.items() if n} } kprobe missed={ {a: n for a, n in kmiss.items() if n} }")
    t.check(g, "DMA-API shortfall == recursion misses", all(short[a] == misses.get(a, 0) for a in API)
            or all(short[a] == 0 for a in API),
            f"tracefs-ours={ {a: n for a, n in short.items() if n} } misses={ {a: n for a, n in misses.items() if n} }")
    if any(misses.values()):
        t.info(g, "BPF recursion misses", f"{misses}")
    for name in (edu, c["vm"].get("nvme_work_pci")):
        mode = devs.get(name, {}).get("iommu_mode")
        t.check(g, f"iommu_mode {name}", mode == want_mode, f"{mode} (want {want_mode})")

    losses = report.get("losses")
    nonzero = {x.get("name"): x.get("count") for x in losses or [] if x.get("count")}
    t.check(g, "losses reported", isinstance(losses, list) and len(losses) > 0,
            f"{len(losses or [])} counters, non-zero: {nonzero or 'none'}")
    rest = sorted({f.get("kind") for f in findings} - {"dma_leak_unbind", "dma_leak_owner_exit", "iommu_fault"})
    t.info(g, "other findings", ", ".join(f"{k} x{sum(1 for f in findings if f.get('kind') == k)}" for k in rest)
           or "none")
    # init.sh sleeps past the grace period after the last exit: every owner is judged
    unjudged = report.get("owners_not_judged")
    t.check(g, "every exited owner judged", unjudged == [], json.dumps(unjudged)[:300])


def theirs_any(c, name):
    return any(v for (d, _), v in c["tracefs"].items() if d == name)


def check_leak_evidence(t, f, want, pid):
    """One leak finding carries what a person needs to find the culprit."""
    ev = f.get("evidence", {})
    b = as_int(ev.get("bus_address"))
    label = f"{f.get('kind')} {hex(b) if b is not None else '?'}"
    problems = []
    if want is None:
        problems.append("unexpected bus address")
    else:
        if as_int(ev.get("size")) != want.get("size", EDU_SIZE):
            problems.append(f"size={ev.get('size')} want {want.get('size')}")
        if ev.get("direction") != want.get("dir"):
            problems.append(f"direction={ev.get('direction')} want {want.get('dir')}")
    owner = ev.get("owner")
    if not owner:
        problems.append("no owner")
    elif pid is not None and isinstance(owner, dict) and as_int(owner.get("pid")) != pid:
        problems.append(f"owner={owner} want pid {pid}")
    if not ev.get("stack"):
        problems.append("empty stack")
    if not f.get("device"):
        problems.append("no device")
    t.check("report", f"evidence {label}", not problems,
            "; ".join(problems) or f"size={ev.get('size')} dir={ev.get('direction')} owner={owner} "
            f"stack[{len(ev.get('stack'))}]")


# ------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--console", required=True, help="the guest's console log")
    ap.add_argument("--out-dir", required=True, help="the guest's result tar, unpacked")
    ap.add_argument("--gputrace", help="host gputrace binary (for `gputrace report`)")
    ap.add_argument("--no-recorder", action="store_true", help="guest ran without gputrace: fixture checks only")
    ap.add_argument("--kernel", default="?")
    ap.add_argument("--mode", default="?")
    ap.add_argument("--user-k", type=int, default=2)
    args = ap.parse_args()

    t = Table()
    c = parse_console(args.console)
    t.info("guest", "kernel", f"{c['vm'].get('kernel', '?')} mode={args.mode} "
           f"recorder={'off' if args.no_recorder else 'on'}")
    check_fixture(t, c, args.user_k, args.mode)

    if not args.no_recorder:
        g = "report"
        capture = os.path.join(args.out_dir, "capture.gtrace")
        t.check(g, "recorder attached", c["recording_to"],
                next((x for x in c["stderr"] if "recording to" in x), "") if c["recording_to"] else
                f"stderr: {c['stderr'][-1] if c['stderr'] else '(empty)'}"
                + (f" (gputrace exited early, rc={c['rc']['recorder_died']})" if "recorder_died" in c["rc"] else ""))
        t.check(g, "recorder exit status", c["rc"].get("recorder_exit") == "0",
                f"rc={c['rc'].get('recorder_exit')}")
        have = os.path.isfile(capture) and os.path.getsize(capture) > 0
        t.check(g, "capture extracted", have, capture)
        report = None
        if have and args.gputrace:
            p = subprocess.run([args.gputrace, "report", capture, "--format", "json"],
                               capture_output=True, text=True)
            with open(os.path.join(args.out_dir, "report.json"), "w") as f:
                f.write(p.stdout)
            ok = t.check(g, "gputrace report", p.returncode == 0,
                         f"rc={p.returncode} {p.stderr.strip()[-300:]}")
            if ok:
                try:
                    report = json.loads(p.stdout)
                except ValueError as e:
                    t.check(g, "report is JSON", False, str(e))
        if report is not None:
            check_report(t, c, report, args.user_k, args.mode)

    t.print(f"vm {args.kernel} {args.mode}: {args.console}")
    return 1 if t.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
