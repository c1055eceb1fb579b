// Text from the trace made safe to print in the text and Markdown reports. Process, device
// and kernel names, finding messages and evidence are bytes a traced process or a crafted
// capture chose: a name like "\x1b[2J" would clear the reader's terminal, and a name cut at
// 15 bytes can end in half a UTF-8 character. The HTML report escapes for HTML instead
// (svg::escape) and top replaces everything outside printable ASCII (top::printable).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace gputrace {

// s as valid UTF-8 (bad bytes become U+FFFD) with every control character (C0, DEL, C1),
// newlines and tabs included, replaced by '?': one line, no terminal escape.
std::string safe_text(std::string_view s);
inline std::string safe_text(const std::string& s) { return safe_text(std::string_view(s)); }
inline std::string safe_text(const char* s) { return safe_text(std::string_view(s)); }

// A model value as text: a string through safe_text, anything else as compact JSON (never
// throws on bytes that are not UTF-8), made safe the same way.
std::string safe_text(const nlohmann::ordered_json& value);

}  // namespace gputrace
