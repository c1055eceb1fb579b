#!/usr/bin/env python3
"""`kubectl kustomize deploy/kubernetes` renders, and the DaemonSet is what docs/deploy.md says:
not privileged, every capability dropped and exactly SYS_ADMIN, SYS_PTRACE, DAC_READ_SEARCH
and SYSLOG added back, no privilege escalation, a read-only root, hostPID, and only the
host paths it needs; a headless Service for scraping and a ServiceAccount without a token.

usage: check_manifests.py DIR      exit 0 good, 1 not, 77 kubectl missing
"""
import shutil
import subprocess
import sys

import yaml

WANT_CAPS = ["SYS_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH", "SYSLOG"]
WANT_HOST_PATHS = {"/run/gputrace", "/var/lib/gputrace"}


def main():
    if not shutil.which("kubectl"):
        print("kubectl is not installed (it carries kustomize): https://kubernetes.io/docs/tasks/tools/")
        return 77
    out = subprocess.run(["kubectl", "kustomize", sys.argv[1]], check=True, capture_output=True, text=True).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    print("rendered:", ", ".join(f"{k}/{n}" for k, n in sorted(kinds)))
    problems = []
    ds = kinds[("DaemonSet", "gputrace")]
    pod = ds["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    sc = c["securityContext"]
    checks = {
        "namespace gputrace": all(d["metadata"].get("namespace") == "gputrace" for d in docs if d["kind"] != "Namespace"),
        "hostPID": pod.get("hostPID") is True,
        "no hostNetwork": not pod.get("hostNetwork"),
        "privileged: false": sc.get("privileged") is False,
        "allowPrivilegeEscalation: false": sc.get("allowPrivilegeEscalation") is False,
        "readOnlyRootFilesystem": sc.get("readOnlyRootFilesystem") is True,
        "drop ALL": sc["capabilities"].get("drop") == ["ALL"],
        f"add {WANT_CAPS}": sc["capabilities"].get("add") == WANT_CAPS,
        "seccomp RuntimeDefault": sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
        "host paths": {v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v} == WANT_HOST_PATHS,
        "no service account token": pod.get("automountServiceAccountToken") is False
        and kinds[("ServiceAccount", "gputrace")].get("automountServiceAccountToken") is False,
        "headless Service on the metrics port": kinds[("Service", "gputrace")]["spec"].get("clusterIP") == "None"
        and kinds[("Service", "gputrace")]["spec"]["ports"][0]["targetPort"] == "metrics",
        "Service selects the pods": all(
            pod_labels == ds["spec"]["template"]["metadata"]["labels"].get(k)
            for k, pod_labels in kinds[("Service", "gputrace")]["spec"]["selector"].items()),
        "configuration from the ConfigMap": any(
            v.get("configMap", {}).get("name", "").startswith("gputrace-config") for v in pod["volumes"]),
        "image from the package": c["image"] == "localhost/gputrace:0.1.0",
    }
    for name, ok in checks.items():
        print(("ok    " if ok else "FAIL  ") + name)
        if not ok:
            problems.append(name)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
