# Sourced by build-image.sh and the deploy-manual tests: makes podman work on hosts like the CI
# machine, where two things stand in its way:
#  - cgroups are "hybrid" (v1 controllers plus a v2 mount that has controllers too), which crun
#    refuses ("cgroups in hybrid mode not supported"); runc runs there;
#  - podman's default rlimits (nofile and nproc of 1048576) are above the hard limits, and root
#    lacks CAP_SYS_RESOURCE to raise them, so runc fails to set them.
# Both go into a containers.conf of our own (CONTAINERS_CONF), which `podman kube play` honours
# too; a host without these quirks keeps its own configuration.
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ]; then
  command -v runc >/dev/null || { echo "this host's cgroups are hybrid, where crun fails: apt-get install runc" >&2; exit 77; }
  export CONTAINERS_CONF=${TMPDIR:-/tmp}/gputrace-containers.conf
  cat > "$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=16384:16384"]
[engine]
runtime = "runc"
CONF
fi
