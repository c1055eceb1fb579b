// Daemon-side sources: kallsyms and stack records, the kernel-log DMAR fault parser, sysfs parsing.
#include "userspace/decode/decoder.h"
#include "userspace/host/kallsyms.h"
#include "userspace/host/kmsg_faults.h"
#include "userspace/host/link_watch.h"
#include "userspace/host/pci_devices.h"
#include "userspace/host/stacks.h"

extern "C" {
#include "bpf/host.h"
#include "bpf/iommu.h"
}

#include <gtest/gtest.h>

#include <string>

namespace gputrace {
namespace {

constexpr const char* kKallsyms =
    "ffffffff81000000 T _stext\n"
    "ffffffff81100000 T dma_map_page_attrs\n"
    "ffffffff81200000 t local_pci_probe\n"
    "ffffffff81300000 D some_data\n"
    "ffffffffc0001000 t bpf_prog_837073a3fc7bd830_dma_map_page_tp_btf\t[bpf]\n"
    "ffffffffc0002000 T bpf_trace_run6\n"
    "ffffffffc0100000 t edu_probe\t[gputrace_edu]\n";

TEST(Kallsyms, ResolvesFunctionsAndSkipsData) {
  Kallsyms k = Kallsyms::parse(kKallsyms);
  EXPECT_EQ(k.size(), 6u);
  auto r = k.resolve(0xffffffff81100189);
  EXPECT_EQ(r.name, "dma_map_page_attrs");
  EXPECT_EQ(r.offset, 0x189u);
  EXPECT_EQ(k.resolve(0xffffffff81300010).name, "local_pci_probe");  // data symbols are not functions
  EXPECT_EQ(k.resolve(0xffffffffc0100045).name, "edu_probe");
  EXPECT_TRUE(k.resolve(0x1000).name.empty());
}

TEST(StackRecords, DropTheTracersOwnFramesAndDecode) {
  Kallsyms k = Kallsyms::parse(kKallsyms);
  const uint64_t ips[] = {0xffffffffc00013b3, 0xffffffffc00020a2, 0xffffffff81100189, 0xffffffffc0100045,
                          0xffffffff81200010};
  OwnedRecord rec = StackRecorder::build(7, ips, k, 1000);
  Record r;
  ASSERT_EQ(decode_one(rec.view().bytes, r), DecodeError::None);
  auto head = r.as<gt_stack_event>();
  EXPECT_EQ(head.stack_id, 7);
  ASSERT_EQ(head.nr_frames, 3u);
  auto tail = r.tail<gt_stack_event>();
  std::string names(reinterpret_cast<const char*>(tail.data()) + 3 * sizeof(gt_stack_frame), head.names_len);
  EXPECT_EQ(names, std::string("dma_map_page_attrs\0edu_probe\0local_pci_probe\0", 45));
}

TEST(DmarFaults, ParsesTheKernelsFaultLine) {
  auto rec = parse_dmar_fault(
      "3,812,10477000,-;DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr 0x100000 [fault reason "
      "0x06] PTE Read access is not set");
  ASSERT_TRUE(rec.has_value());
  auto e = rec->view().as<gt_iommu_fault_event>();
  EXPECT_STREQ(e.name, "0000:00:04.0");
  EXPECT_EQ(e.iova, 0x100000u);
  EXPECT_EQ(e.reason, 6u);
  EXPECT_EQ(e.flags, 0u);
  EXPECT_EQ(e.source, GT_FAULT_DMAR_KMSG);
  EXPECT_EQ(e.hdr.ts_ns, 10477000000ull);
  // Older kernels: no 0x prefixes, PASID in the middle; writes.
  auto old = parse_dmar_fault("3,1,5,-;DMAR: [DMA Write] Request device [0000:3b:00.0] PASID ffffffff fault addr "
                              "7f000 [fault reason 05] PTE Write access is not set");
  ASSERT_TRUE(old.has_value());
  EXPECT_STREQ(old->view().as<gt_iommu_fault_event>().name, "0000:3b:00.0");
  EXPECT_EQ(old->view().as<gt_iommu_fault_event>().iova, 0x7f000u);
  EXPECT_EQ(old->view().as<gt_iommu_fault_event>().flags, 1u);
  EXPECT_FALSE(parse_dmar_fault("6,2,3,-;DMAR: IOMMU enabled").has_value());
  EXPECT_FALSE(parse_dmar_fault("garbage without a semicolon").has_value());
}

TEST(PciFacts, ParsesSysfsWording) {
  EXPECT_EQ(parse_link_speed_mts("16.0 GT/s PCIe"), 16000u);
  EXPECT_EQ(parse_link_speed_mts("2.5 GT/s PCIe"), 2500u);
  EXPECT_EQ(parse_link_speed_mts("Unknown"), 0u);
  EXPECT_EQ(parse_link_width("16"), 16u);
  EXPECT_EQ(parse_link_width("255"), 0u);  // sysfs's "unknown"
  EXPECT_EQ(parse_link_width("0"), 0u);
  EXPECT_EQ(parse_link_width(""), 0u);
  EXPECT_EQ(parse_iommu_type("DMA"), GT_IOMMU_STRICT);
  EXPECT_EQ(parse_iommu_type("DMA-FQ"), GT_IOMMU_LAZY);
  EXPECT_EQ(parse_iommu_type("identity"), GT_IOMMU_IDENTITY);
  EXPECT_EQ(parse_iommu_type(""), GT_IOMMU_NONE);
}

// The one judgement of a link's state that top, the report, the Prometheus gauge, doctor and
// the stall causes share.
TEST(PciFacts, DowntrainedNeedsKnownReadings) {
  EXPECT_TRUE(pcie_link_downtrained(16000, 16, 32000, 16));   // slower
  EXPECT_TRUE(pcie_link_downtrained(32000, 8, 32000, 16));    // narrower
  EXPECT_FALSE(pcie_link_downtrained(32000, 16, 32000, 16));
  EXPECT_FALSE(pcie_link_downtrained(0, 16, 32000, 16));      // current speed unknown
  EXPECT_FALSE(pcie_link_downtrained(16000, 16, 0, 16));      // maximum unknown
  EXPECT_FALSE(pcie_link_downtrained(32000, 8, 32000, 255));  // sysfs's 255: width unknown
  EXPECT_FALSE(pcie_link_downtrained(32000, 255, 32000, 16));
}

TEST(LinkWatch, ReportsOnlyLinksThatChanged) {
  auto gpu = [](uint32_t speed, uint8_t width) {
    PciDeviceFacts f;
    f.name = "0000:17:00.0";
    f.pci_class = 0x030200;
    f.link_speed_mts = speed;
    f.max_link_speed_mts = 16000;
    f.link_width = width;
    f.max_link_width = 16;
    return f;
  };
  LinkWatch watch;
  EXPECT_TRUE(watch.changes({gpu(2500, 16)}).empty());  // first sight: recorded at start-up
  EXPECT_TRUE(watch.changes({gpu(2500, 16)}).empty());
  const auto up = watch.changes({gpu(16000, 16)});  // under load the GPU raises its link
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].link_speed_mts, 16000u);
  EXPECT_TRUE(watch.changes({gpu(16000, 16)}).empty());
  EXPECT_EQ(watch.changes({gpu(16000, 8)}).size(), 1u);
}

}  // namespace
}  // namespace gputrace
