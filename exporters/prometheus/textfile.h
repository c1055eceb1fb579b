// Atomic textfile for node_exporter's textfile collector
// (--collector.textfile.directory): node_exporter may read the file at any moment, so it must
// never see half of one. The text goes to a hidden temporary file with an unpredictable name,
// created exclusively, in the same directory (so rename(2) cannot cross file systems, and
// node_exporter, which reads only *.prom, ignores it), is fsync'd, then renamed over the
// target; the directory is fsync'd so the rename survives a crash.
//
//   if (auto r = write_textfile_atomically("/var/lib/node_exporter/gputrace.prom", text); !r) ...
#pragma once

#include "userspace/util/result.h"

#include <string>
#include <string_view>

namespace gputrace::prometheus {

// Mode 0644: node_exporter usually runs as its own user. Refuses a target that is a symbolic
// link or not a regular file, with a message saying so.
Result<void> write_textfile_atomically(const std::string& path, std::string_view text);

}  // namespace gputrace::prometheus
