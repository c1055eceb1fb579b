// Bucket bounds of the histograms gputrace exports beyond GC pauses, shared by the analyzers
// that count into them and the snapshot that carries them to the exporters (docs/metrics.md
// explains each choice). Changing a bound changes the exported series: do it deliberately.
#pragma once

#include "userspace/util/fixed_histogram.h"

#include <array>

namespace gputrace {

// IOMMU map/unmap latency, ns. A map writes page-table entries (about a microsecond); a
// strict-mode unmap waits for an IOTLB invalidation (several to tens of microseconds); hundreds
// of microseconds mean a contended invalidation queue, milliseconds a driver in trouble.
inline constexpr std::array<double, 12> kIommuLatencyBoundsNs = {
    1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 10'000'000};
using IommuLatencyHistogram = FixedHistogram<kIommuLatencyBoundsNs>;

// Achieved bandwidth of one host<->device copy, bytes/s. PCIe 3.0 x16 carries about 13 GB/s in
// practice, 4.0 x16 about 26, 5.0 x16 about 52; a link trained to fewer lanes or a lower speed
// halves or quarters that, and pageable host memory staged by the driver lands at 3-6 GB/s.
inline constexpr std::array<double, 13> kCopyBandwidthBounds = {
    0.5e9, 1e9, 2e9, 3e9, 4e9, 6e9, 8e9, 12e9, 16e9, 24e9, 32e9, 48e9, 64e9};
using CopyBandwidthHistogram = FixedHistogram<kCopyBandwidthBounds>;

}  // namespace gputrace
