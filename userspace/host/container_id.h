// Container id of a process, from its cgroup path: the 64-hex-digit id that docker,
// containerd (cri), cri-o and podman put in the cgroup they create for a container
// ("/system.slice/docker-<id>.scope", "/kubepods/burstable/pod.../cri-containerd-<id>.scope",
// "/docker/<id>", "/machine.slice/libpod-<id>.scope"). The exporters attach it to a process's
// series (container label, container.id resource attribute).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gputrace {

// The id in one /proc/PID/cgroup file's text; empty when the process is on the host.
std::string container_id_from_cgroup(std::string_view cgroup_text);

// Reads /proc/PID/cgroup; empty when on the host, gone, or unreadable.
std::string container_id_of(uint32_t pid, const std::string& proc_root = "/proc");

}  // namespace gputrace
