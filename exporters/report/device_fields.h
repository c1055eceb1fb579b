// Reading a report model's device entry the way every rendering shows it: DMA-API totals over
// page, sg and coherent, and the PCIe link as "16000 MT/s x16 of 32000 MT/s x16".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace gputrace {

struct DmaApiTotals {
  uint64_t maps = 0;
  uint64_t unmaps = 0;
};

DmaApiTotals dma_api_totals(const nlohmann::ordered_json& device);
// "-" when the link is unknown; downtrained_mark is appended to a downtrained link.
std::string pcie_link_text(const nlohmann::ordered_json& device, std::string_view downtrained_mark);

}  // namespace gputrace
