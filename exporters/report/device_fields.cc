#include "report/device_fields.h"

#include <fmt/format.h>

namespace gputrace {

DmaApiTotals dma_api_totals(const nlohmann::ordered_json& device) {
  DmaApiTotals t;
  for (const char* api : {"page", "sg", "coherent"}) {
    t.maps += device["dma_api"][api]["maps"].get<uint64_t>();
    t.unmaps += device["dma_api"][api]["unmaps"].get<uint64_t>();
  }
  return t;
}

std::string pcie_link_text(const nlohmann::ordered_json& device, std::string_view downtrained_mark) {
  const auto& l = device["pcie_link"];
  if (l.is_null()) return "-";
  return fmt::format("{} MT/s x{} of {} MT/s x{}{}", l["speed_mts"].get<uint64_t>(), l["width"].get<uint64_t>(),
                     l["max_speed_mts"].get<uint64_t>(), l["max_width"].get<uint64_t>(),
                     l["downtrained"].get<bool>() ? downtrained_mark : "");
}

}  // namespace gputrace
