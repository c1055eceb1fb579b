#include "userspace/gpu/injection_env.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

// Set by cupti/CMakeLists.txt when the library is built; absent without the CUDA toolkit.
#ifndef GPUTRACE_CUPTI_LIBRARY_INSTALLED
#define GPUTRACE_CUPTI_LIBRARY_INSTALLED ""
#endif
#ifndef GPUTRACE_CUPTI_LIBRARY_BUILT
#define GPUTRACE_CUPTI_LIBRARY_BUILT ""
#endif
#ifndef GPUTRACE_BUILD_DIR
#define GPUTRACE_BUILD_DIR ""
#endif

namespace gputrace {
namespace {

bool regular_file(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A gputrace run from its build tree injects the library built with it, not an older
// installed copy that would speak another batch version.
bool running_from_build_tree() {
  const std::string build_dir = GPUTRACE_BUILD_DIR;
  std::error_code ec;
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  return !ec && !build_dir.empty() && exe.starts_with(build_dir + "/");
}

// Where the install step puts the library relative to the binary (PREFIX/sbin/gputrace,
// PREFIX/lib/gputrace/): a package built from a tree configured for another prefix still finds it.
std::string beside_installed_binary() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return (exe.parent_path().parent_path() / "lib/gputrace/libgputrace_cupti.so").string();
}

}  // namespace

Result<std::string> find_injection_library() {
  if (const char* env = std::getenv("GPUTRACE_CUPTI_LIB"); env && *env) {
    if (regular_file(env)) return std::string(env);
    return fail("GPUTRACE_CUPTI_LIB={} is not a readable file", env);
  }
  if (running_from_build_tree() && regular_file(GPUTRACE_CUPTI_LIBRARY_BUILT)) return std::string(GPUTRACE_CUPTI_LIBRARY_BUILT);
  if (*GPUTRACE_CUPTI_LIBRARY_INSTALLED != '\0')
    if (const std::string beside = beside_installed_binary(); regular_file(beside)) return beside;
  for (const char* candidate : {GPUTRACE_CUPTI_LIBRARY_INSTALLED, GPUTRACE_CUPTI_LIBRARY_BUILT})
    if (regular_file(candidate)) return std::string(candidate);
  if (*GPUTRACE_CUPTI_LIBRARY_INSTALLED == '\0')
    return fail("this gputrace was built without the CUDA toolkit, so it has no libgputrace_cupti.so: rebuild "
                "where /usr/local/cuda has CUPTI, or set GPUTRACE_CUPTI_LIB to a library built elsewhere");
  return fail("libgputrace_cupti.so is not installed at {}: run the install step, or set GPUTRACE_CUPTI_LIB",
              GPUTRACE_CUPTI_LIBRARY_INSTALLED);
}

Result<std::vector<std::string>> injection_env(const InjectionOptions& options) {
  std::string library = options.library_path;
  if (library.empty()) {
    auto found = find_injection_library();
    if (!found) return tl::unexpected(found.error());
    library = *found;
  } else if (!regular_file(library)) {
    return fail("{} is not a readable file", library);
  }
  std::vector<std::string> env{"CUDA_INJECTION64_PATH=" + library, "GPUTRACE_CUPTI_SOCKET=" + options.socket_path};
  if (options.api) env.emplace_back("GPUTRACE_CUPTI_API=1");
  if (options.memory) env.emplace_back("GPUTRACE_CUPTI_MEMORY=1");
  if (options.flush_ms) env.push_back("GPUTRACE_CUPTI_FLUSH_MS=" + std::to_string(options.flush_ms));
  return env;
}

}  // namespace gputrace
