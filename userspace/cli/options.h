// A small, strict command-line option parser: every option is declared, unknown ones and
// missing values are errors with a message, `--` ends options.
#pragma once

#include <sys/types.h>

#include "userspace/util/result.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gputrace {

class Options {
 public:
  // Declares --name (and -short) as a flag or as taking a value (repeatable when listed twice).
  Options& flag(std::string name, char short_name = 0);
  Options& value(std::string name, char short_name = 0);

  Result<void> parse(const std::vector<std::string>& args);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  // Whether --name was declared, and whether it takes a value (a configuration file's lines).
  bool declared(const std::string& name) const { return find(name) != nullptr; }
  bool takes_value(const std::string& name) const { return find(name) && find(name)->takes_value; }
  std::vector<std::string> declared_names() const;
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  const std::vector<std::string>& after_dashdash() const { return after_dashdash_; }

 private:
  struct Decl {
    std::string name;
    bool takes_value;
  };
  const Decl* find(const std::string& token) const;
  std::vector<Decl> decls_;
  std::map<char, std::string> shorts_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_, after_dashdash_;
};

// "10s", "500ms", "2m", "1h", or plain seconds ("1.5").
Result<std::chrono::nanoseconds> parse_duration(const std::string& text);

// A process id: decimal digits only, 1..2^31-1 (pid_t); the message is "'X' is not a process id".
Result<pid_t> parse_pid(const std::string& text);
// A PCI address as the kernel names devices, "0000:3b:00.0" (a missing domain, "3b:00.0", means
// 0000); returned in the kernel's lowercase form.
Result<std::string> parse_pci_address(const std::string& text);
// A whole number 1..max, decimal digits only (no sign: strtoul reads "-1" as 2^64-1).
Result<size_t> parse_positive(const std::string& text, size_t max);

}  // namespace gputrace
