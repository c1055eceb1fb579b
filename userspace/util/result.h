// Result<T>: a value or an Error a person can act on. The one error type of the daemon.
#pragma once

#include <fmt/format.h>
#include <tl/expected.hpp>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace gputrace {

struct Error {
  std::string message;  // complete sentence: what failed, why, and what to do if known
  int errnum = 0;       // positive errno when the failure came from the kernel, else 0

  std::string describe() const {
    if (errnum == 0) return message;
    return fmt::format("{}: {}", message, std::strerror(errnum));
  }
};

// tl::expected today; the alias lets it become std::expected without touching callers.
template <class T>
using Result = tl::expected<T, Error>;

template <class... Args>
tl::unexpected<Error> fail(fmt::format_string<Args...> f, Args&&... args) {
  return tl::unexpected(Error{fmt::format(f, std::forward<Args>(args)...), 0});
}

template <class... Args>
tl::unexpected<Error> fail_errno(int errnum, fmt::format_string<Args...> f, Args&&... args) {
  return tl::unexpected(Error{fmt::format(f, std::forward<Args>(args)...), errnum < 0 ? -errnum : errnum});
}

}  // namespace gputrace
