#include "exporters/report/safe_text.h"

#include "exporters/telemetry/utf8.h"

namespace gputrace {

std::string safe_text(std::string_view s) {
  const std::string valid = telemetry::valid_utf8(s);
  std::string out;
  out.reserve(valid.size());
  for (size_t i = 0; i < valid.size(); ++i) {
    const auto c = static_cast<unsigned char>(valid[i]);
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c == 0xc2 && i + 1 < valid.size() && static_cast<unsigned char>(valid[i + 1]) < 0xa0) {
      out += '?';  // U+0080..U+009F: C1 controls, CSI among them
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string safe_text(const nlohmann::ordered_json& value) {
  if (value.is_string()) return safe_text(value.get_ref<const std::string&>());
  return safe_text(value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

}  // namespace gputrace
