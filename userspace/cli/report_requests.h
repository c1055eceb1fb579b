// Report files on request: SIGUSR1 asks a running `gputrace top`, `live` or `daemon` to
// write its report files now; they are written again at exit. The signal handler only sets
// a flag: the command's loop writes (never inside the handler).
#pragma once

#include "userspace/pipeline/pipeline.h"
#include "userspace/util/result.h"

#include <string>
#include <vector>

namespace gputrace {

void install_report_request_handler();
// True once per SIGUSR1 received since the last call.
bool take_report_request();

// summary.md, report.html, trace.json and report.json of everything the pipeline analysed
// so far, written into dir (report/report_files.h). Returns the paths.
Result<std::vector<std::string>> write_report_dir(const std::string& dir, Pipeline& pipeline);

}  // namespace gputrace
