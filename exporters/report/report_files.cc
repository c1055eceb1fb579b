#include "exporters/report/report_files.h"

#include "exporters/report/html_report.h"
#include "exporters/report/markdown_report.h"
#include "exporters/report/perfetto_trace.h"
#include "userspace/util/safe_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>

namespace gputrace {

std::string render_report_file(ReportFormat format, const HostSnapshot& s, const Timeline& timeline) {
  switch (format) {
    case ReportFormat::Text: return render_text_report(s);
    case ReportFormat::Json: return render_report_json(s);
    case ReportFormat::Markdown: return render_markdown_report(s);
    case ReportFormat::Html: return render_html_report(s, timeline);
    case ReportFormat::Perfetto: return render_perfetto_trace(timeline, s);
  }
  return {};
}

Result<void> replace_file(const std::string& path, const std::string& text) {
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  ::unlink(tmp.c_str());  // a leftover of a process that died with this pid
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno(errno, "cannot create {}", tmp);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail_errno(e, "writing {}", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return fail_errno(e, "writing {}", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return fail_errno(e, "cannot replace {}", path);
  }
  return {};
}

Result<std::vector<std::string>> write_report_files(const std::string& dir, const HostSnapshot& s,
                                                    const Timeline& timeline) {
  // Walked from a directory fd, never through another user's link (docs/security.md).
  auto safe = SafeDir::open(dir);
  if (!safe) return fail("report directory: {}", safe.error().describe());
  static constexpr std::pair<const char*, ReportFormat> kFiles[] = {{"summary.md", ReportFormat::Markdown},
                                                                    {"report.html", ReportFormat::Html},
                                                                    {"trace.json", ReportFormat::Perfetto},
                                                                    {"report.json", ReportFormat::Json}};
  // Every file is rendered before any is written: a snapshot a renderer cannot handle leaves
  // the previous set in place instead of a mix of old and new files. Callers are a live view
  // and a daemon that must keep running, so nothing here may throw at them.
  std::vector<std::string> texts;
  for (const auto& [name, format] : kFiles) {
    try {
      texts.push_back(render_report_file(format, s, timeline));
    } catch (const std::exception& e) {
      return fail("cannot render {} for {}: {}", name, dir, e.what());
    }
  }
  std::vector<std::string> written;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string path = dir + "/" + kFiles[i].first;
    if (auto r = safe->replace_file(kFiles[i].first, texts[i]); !r) return tl::unexpected(r.error());
    written.push_back(path);
  }
  return written;
}

}  // namespace gputrace
