#!/usr/bin/env bash
# deploy-manual: the DaemonSet's pod, with the DaemonSet's exact security context, host PID
# namespace and volumes, run on this host from the image built from the package
# (deploy/container/build-image.sh). It must trace a CPython process running on the host (not
# in the pod) — its GC pauses appear on the pod's /metrics — and say nothing is missing but
# what a pod cannot have (/dev/kmsg).
#
# `podman kube play` runs the pod first. Podman before 4.4 ignores hostPID (the pod gets a PID
# namespace of its own, and sees none of the host's processes): then the same rendered pod
# spec is run with `podman run`, its settings translated one by one (printed below).
#
#   tests/deploy/podman_kube_play.sh DEB SOURCE_DIR
#
# Needs root, podman, kubectl (kustomize), /usr/bin/python3.11 and the Debian mirror for the
# image's first build. Takes about a minute with the base image cached.
set -euo pipefail
deb=$(realpath "$1")
src=$(realpath "$2")
[ "$(id -u)" = 0 ] || { echo "podman_kube_play.sh: needs root"; exit 77; }
for tool in podman kubectl /usr/bin/python3.11 curl; do
  command -v "$tool" >/dev/null || { echo "podman_kube_play.sh: $tool is missing"; exit 77; }
done
source "$src/deploy/container/podman-env.sh"
"$src/deploy/container/build-image.sh" "$deb"

work=$(mktemp -d /tmp/gputrace-kube-XXXXXX)
workload=
cleanup() {
  podman kube down "$work/pod.yaml" >/dev/null 2>&1 || true
  podman rm -f gputrace-run >/dev/null 2>&1 || true
  [ -n "$workload" ] && kill "$workload" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== kubectl kustomize deploy/kubernetes → the DaemonSet's pod template as a Pod"
kubectl kustomize "$src/deploy/kubernetes" > "$work/rendered.yaml"
/usr/bin/python3 - "$work/rendered.yaml" "$work/pod.yaml" "$work/run-args.json" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ds = next(d for d in docs if d["kind"] == "DaemonSet")
cm = next(d for d in docs if d["kind"] == "ConfigMap")
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "gputrace", "labels": ds["spec"]["template"]["metadata"]["labels"]},
       "spec": ds["spec"]["template"]["spec"]}  # verbatim: security context, hostPID, volumes
# podman has no Kubernetes node to name: the downward API's spec.nodeName becomes this host's name
import socket
for e in pod["spec"]["containers"][0]["env"]:
    if e["name"] == "NODE_NAME":
        e.pop("valueFrom")
        e["value"] = socket.gethostname()
yaml.safe_dump_all([cm, pod], open(sys.argv[2], "w"), sort_keys=False)
c = pod["spec"]["containers"][0]
# The same pod for `podman run`, setting by setting.
import json, os
sc, spec = c["securityContext"], pod["spec"]
args = ["--name", "gputrace-run", "--user", str(sc["runAsUser"])]
if spec.get("hostPID"): args += ["--pid", "host"]
if sc.get("privileged"): args += ["--privileged"]
if sc.get("readOnlyRootFilesystem"): args += ["--read-only", "--read-only-tmpfs=false"]  # Kubernetes adds no tmpfs
if sc.get("allowPrivilegeEscalation") is False: args += ["--security-opt", "no-new-privileges"]
assert sc["seccompProfile"]["type"] == "RuntimeDefault"  # podman's default profile
args += [f"--cap-drop={x}" for x in sc["capabilities"]["drop"]] + [f"--cap-add={x}" for x in sc["capabilities"]["add"]]
mounts = {m["name"]: m for m in c["volumeMounts"]}
confdir = os.path.join(os.path.dirname(sys.argv[2]), "configmap")
for v in spec["volumes"]:
    m = mounts[v["name"]]
    ro = ":ro" if m.get("readOnly") else ""
    if "hostPath" in v:
        os.makedirs(v["hostPath"]["path"], exist_ok=True)  # DirectoryOrCreate
        args += ["-v", f'{v["hostPath"]["path"]}:{m["mountPath"]}{ro}']
    else:
        os.makedirs(confdir, exist_ok=True)
        for name, text in cm["data"].items():
            open(os.path.join(confdir, name), "w").write(text)
        args += ["-v", f'{confdir}:{m["mountPath"]}{ro}']
env = {e["name"]: e["value"] for e in c["env"]}
for k, val in env.items():
    for kk, vv in env.items(): val = val.replace(f"$({kk})", vv)
    args += ["-e", f"{k}={val}"]
args += [c["image"]] + c["args"]
json.dump(args, open(sys.argv[3], "w"))
print("hostPID:", pod["spec"]["hostPID"])
print("securityContext:", yaml.safe_dump(c["securityContext"], default_flow_style=True).strip())
print("volumes:", [v["hostPath"]["path"] if "hostPath" in v else "configMap " + v["configMap"]["name"] for v in pod["spec"]["volumes"]])
EOF

echo "== a CPython process on the host, collecting garbage"
/usr/bin/python3.11 -c '
import gc, time
class Node: pass
while True:
    garbage = [Node() for _ in range(2000)]
    for n in garbage: n.me = n
    gc.collect()
    time.sleep(0.01)
' &
workload=$!
echo "host pid $workload: /usr/bin/python3.11"

echo "== podman kube play"
podman --version
podman kube play "$work/pod.yaml" 2>&1 | grep -v 'systemd connection to .* healthchecks'
ctr=gputrace-gputrace
ip=$(podman pod inspect gputrace --format '{{.InfraContainerID}}' | xargs podman inspect \
       --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
pid_mode=$(podman inspect "$ctr" --format '{{.HostConfig.PidMode}}')
if [ "$pid_mode" != host ]; then
  echo "podman kube play gave the pod PID namespace '$pid_mode', not the host's: podman $(podman --version | awk '{print $3}') ignores hostPID (supported from 4.4)"
  podman kube down "$work/pod.yaml" >/dev/null
  echo "== podman run, from the same rendered pod spec"
  mapfile -t run_args < <(/usr/bin/python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' "$work/run-args.json")
  echo "podman run -d ${run_args[*]}"
  podman run -d "${run_args[@]}" >/dev/null
  ctr=gputrace-run
  ip=$(podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$ctr")
fi
echo "pod address: $ip"
podman inspect "$ctr" --format 'privileged={{.HostConfig.Privileged}} readonly_rootfs={{.HostConfig.ReadonlyRootfs}} pid={{.HostConfig.PidMode}} cap_drop={{.HostConfig.CapDrop}} cap_add={{.HostConfig.CapAdd}} user={{.Config.User}}'
podman inspect "$ctr" --format '{{range .Mounts}}{{.Destination}} <- {{.Source}} (rw={{.RW}}){{"\n"}}{{end}}'

pauses=
for _ in $(seq 60); do
  sleep 1
  metrics=$(curl -sf "http://$ip:9478/metrics" || true)
  pauses=$(grep "^gputrace_process_gc_pause_duration_seconds_count{pid=\"$workload\"" <<<"$metrics" | awk '{print $2}' || true)
  [ -n "$pauses" ] && [ "$pauses" -gt 0 ] && break
done
echo "== the daemon in the pod (its capabilities, as the kernel sees them)"
daemon_pid=$(podman inspect "$ctr" --format '{{.State.Pid}}')
grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' "/proc/$daemon_pid/status"
command -v capsh >/dev/null && capsh --decode="$(awk '/^CapEff/ {print $2}' "/proc/$daemon_pid/status")"
echo "== podman logs"
podman logs "$ctr" 2>&1 | tail -20
echo "== /metrics of the pod: the host process's GC"
grep -E "pid=\"$workload\"" <<<"$metrics" | grep -E 'gc_pause_duration_seconds_(count|sum)|gc_full_collections|process_info' || true
grep -E '^gputrace_(build_info|processes_tracked)' <<<"$metrics" || true
if [ -z "$pauses" ] || [ "$pauses" = 0 ]; then
  echo "FAIL: the pod did not trace the host's CPython (pid $workload)"
  exit 1
fi
if podman logs "$ctr" 2>&1 | grep -q 'without CAP_'; then
  echo "FAIL: the daemon in the pod lacks a capability it needs"
  exit 1
fi
echo "ok: the pod traced $pauses GC pauses of host pid $workload"
