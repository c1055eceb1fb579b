// A small, strict command-line option parser: every option is declared, unknown ones and
// missing values are errors with a message, `--` ends options.
#pragma once

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

}  // namespace gputrace
