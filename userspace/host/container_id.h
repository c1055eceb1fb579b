// The container a process runs in, from its cgroup path: the id that docker, containerd
// (incl. Kubernetes' CRI) and podman put in the cgroup they create for it. `gputrace top`
// shows it so a row can be matched with `docker ps` / `crictl ps`.
#pragma once

#include <string>
#include <string_view>

namespace gputrace {

// The first 12 hex digits of the 64-digit container id in a /proc/PID/cgroup text
// ("0::/system.slice/docker-<id>.scope", ".../cri-containerd-<id>.scope",
// "/docker/<id>", ".../libpod-<id>.scope", "/kubepods/.../<id>"); empty when none.
std::string container_id_from_cgroup(std::string_view cgroup_text);

// Reads /proc/PID/cgroup; empty when the process is on the host or gone.
std::string container_id_of(int pid, const std::string& proc_root = "/proc");

}  // namespace gputrace
