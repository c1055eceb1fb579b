// GT_EV_GPU_DEVICE without a GPU: the record's bytes, the announce-once bookkeeping, and the
// driver query against stand-in driver functions (success, missing functions, failed calls,
// addresses the daemon would reject).
#include "cupti/device_records.h"
#include "cupti/driver_devices.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

namespace gputrace::cupti {
namespace {

TEST(DeviceRecord, LayoutIsTheWireFormat) {
  static_assert(sizeof(gt_gpu_device_event) == 104);
  EXPECT_EQ(offsetof(gt_gpu_device_event, device_id), 24u);
  EXPECT_EQ(offsetof(gt_gpu_device_event, pci_domain), 28u);
  EXPECT_EQ(offsetof(gt_gpu_device_event, pci_bus), 32u);
  EXPECT_EQ(offsetof(gt_gpu_device_event, pci_device), 36u);
  EXPECT_EQ(offsetof(gt_gpu_device_event, name), 40u);
  EXPECT_EQ(sizeof(gt_gpu_device_event::name), 64u);
  EXPECT_EQ(sizeof(gt_gpu_device_event) % 8, 0u);  // BatchWriter appends multiples of 8 only
}

TEST(DeviceRecord, CarriesEveryField) {
  const auto e = make_device_record(2, 0x0001, 0xc1, 0x1f, "NVIDIA H100 80GB HBM3");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->hdr.kind, GT_EV_GPU_DEVICE);
  EXPECT_EQ(e->hdr.size, 104u);
  EXPECT_EQ(e->hdr.cpu, GT_GPU_NO_CPU);
  EXPECT_EQ(e->hdr.ts_ns, 0u);
  EXPECT_EQ(e->hdr.pid, 0u);
  EXPECT_EQ(e->hdr.tid, 0u);
  EXPECT_EQ(e->device_id, 2u);
  EXPECT_EQ(e->pci_domain, 1u);
  EXPECT_EQ(e->pci_bus, 0xc1u);
  EXPECT_EQ(e->pci_device, 0x1fu);
  EXPECT_STREQ(e->name, "NVIDIA H100 80GB HBM3");
  for (size_t i = std::strlen(e->name); i < sizeof(e->name); ++i) EXPECT_EQ(e->name[i], '\0') << i;
}

TEST(DeviceRecord, CutsLongNamesAndKeepsTheNul) {
  const std::string longer(100, 'x');
  const auto e = make_device_record(0, 0, 1, 0, longer);
  ASSERT_TRUE(e);
  EXPECT_EQ(std::string(e->name), std::string(63, 'x'));
  EXPECT_EQ(e->name[63], '\0');
  const auto exact = make_device_record(0, 0, 1, 0, std::string(63, 'y'));
  ASSERT_TRUE(exact);
  EXPECT_EQ(std::string(exact->name), std::string(63, 'y'));
  const auto sixty_four = make_device_record(0, 0, 1, 0, std::string(64, 'z'));
  ASSERT_TRUE(sixty_four);
  EXPECT_EQ(std::string(sixty_four->name), std::string(63, 'z'));
}

TEST(DeviceRecord, StopsAtAnEmbeddedNulAndAcceptsNoName) {
  const auto e = make_device_record(0, 0, 1, 0, std::string_view("GPU\0junk", 8));
  ASSERT_TRUE(e);
  EXPECT_STREQ(e->name, "GPU");
  for (size_t i = 3; i < sizeof(e->name); ++i) EXPECT_EQ(e->name[i], '\0') << i;
  const auto unnamed = make_device_record(0, 0, 1, 0, "");
  ASSERT_TRUE(unnamed);
  EXPECT_STREQ(unnamed->name, "");
}

TEST(DeviceRecord, RefusesAddressesOutsidePci) {
  EXPECT_TRUE(make_device_record(0, 0xffff, 0xff, 0x1f, "max"));
  EXPECT_FALSE(make_device_record(0, 0x10000, 0, 0, "domain"));
  EXPECT_FALSE(make_device_record(0, 0, 0x100, 0, "bus"));
  EXPECT_FALSE(make_device_record(0, 0, 0, 0x20, "device"));
}

gt_gpu_device_event device(uint32_t id, uint32_t bus) { return *make_device_record(id, 0, bus, 0, "gpu"); }

TEST(DeviceAnnouncer, AnnouncesEachDescribedDeviceOncePerReceiver) {
  DeviceAnnouncer a;
  EXPECT_EQ(a.announce(0, 1), nullptr);  // not described: nothing to say
  EXPECT_TRUE(a.learn(device(0, 0x41)));
  EXPECT_TRUE(a.learn(device(1, 0x81)));
  const gt_gpu_device_event* first = a.announce(0, 1);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->device_id, 0u);
  EXPECT_EQ(first->pci_bus, 0x41u);
  EXPECT_EQ(a.announce(0, 1), nullptr);  // already told
  ASSERT_NE(a.announce(1, 1), nullptr);
  EXPECT_EQ(a.announce(1, 1), nullptr);
  EXPECT_EQ(a.announce(7, 1), nullptr);  // an id no context was created on
  EXPECT_EQ(a.described(), 2u);
  EXPECT_FALSE(a.known(7));  // asking about it did not make it known
}

TEST(DeviceAnnouncer, TellsANewReceiverAndResendsAfterALoss) {
  DeviceAnnouncer a;
  a.learn(device(0, 0x41));
  ASSERT_NE(a.announce(0, 1), nullptr);
  ASSERT_NE(a.announce(0, 2), nullptr);  // a tracer attached: it never saw the first
  EXPECT_EQ(a.announce(0, 2), nullptr);
  a.resend_all();  // a batch that may have carried it was lost
  ASSERT_NE(a.announce(0, 2), nullptr);
  EXPECT_EQ(a.announce(0, 2), nullptr);
}

TEST(DeviceAnnouncer, EpochZeroIsNotMistakenForSent) {
  DeviceAnnouncer a;
  a.learn(device(0, 0x41));
  EXPECT_NE(a.announce(0, 0), nullptr);
  EXPECT_EQ(a.announce(0, 0), nullptr);
}

TEST(DeviceAnnouncer, KeepsTheFirstDescription) {
  DeviceAnnouncer a;
  EXPECT_TRUE(a.learn(device(0, 0x41)));
  EXPECT_FALSE(a.learn(device(0, 0x99)));  // another context on the same device
  EXPECT_EQ(a.announce(0, 1)->pci_bus, 0x41u);
}

TEST(DeviceAnnouncer, UnresolvedDevicesAreCountedOnceAndNeverSent) {
  DeviceAnnouncer a;
  EXPECT_TRUE(a.unresolved(3));
  EXPECT_FALSE(a.unresolved(3));  // say it once
  EXPECT_TRUE(a.known(3));
  EXPECT_EQ(a.announce(3, 1), nullptr);
  EXPECT_EQ(a.unresolved_count(), 1u);
  EXPECT_EQ(a.described(), 0u);
  // A later context on it that the driver could describe still counts.
  EXPECT_TRUE(a.learn(device(3, 0x21)));
  EXPECT_NE(a.announce(3, 1), nullptr);
  EXPECT_FALSE(a.unresolved(3));
}

// Stand-in driver: device ordinal N is at 0000:(0x40 + N):00.0, unless told otherwise.
struct FakeDriver {
  static inline CUresult get_result = CUDA_SUCCESS;
  static inline CUresult attribute_result = CUDA_SUCCESS;
  static inline CUdevice_attribute failing_attribute = CU_DEVICE_ATTRIBUTE_PCI_BUS_ID;
  static inline int bus_value = -1;  // -1: 0x40 + ordinal
  static inline CUresult name_result = CUDA_SUCCESS;
  static inline int asked_ordinal = -1;

  static void reset() {
    get_result = attribute_result = name_result = CUDA_SUCCESS;
    bus_value = -1;
    asked_ordinal = -1;
  }
  static CUresult device_get(CUdevice* dev, int ordinal) {
    asked_ordinal = ordinal;
    if (get_result != CUDA_SUCCESS) return get_result;
    *dev = 100 + ordinal;  // a handle, not the ordinal: the query must pass it on
    return CUDA_SUCCESS;
  }
  static CUresult get_attribute(int* value, CUdevice_attribute attribute, CUdevice dev) {
    if (attribute_result != CUDA_SUCCESS && attribute == failing_attribute) return attribute_result;
    const int ordinal = dev - 100;
    switch (attribute) {
      case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID: *value = 0; return CUDA_SUCCESS;
      case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *value = bus_value >= 0 ? bus_value : 0x40 + ordinal; return CUDA_SUCCESS;
      case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID: *value = 0; return CUDA_SUCCESS;
      default: return CUDA_ERROR_INVALID_VALUE;
    }
  }
  static CUresult get_name(char* name, int len, CUdevice dev) {
    if (name_result != CUDA_SUCCESS) return name_result;
    std::snprintf(name, static_cast<size_t>(len), "Fake GPU %d", dev - 100);
    return CUDA_SUCCESS;
  }
  static DriverDeviceApi api() { return {device_get, get_attribute, get_name}; }
};

class DriverQuery : public ::testing::Test {
 protected:
  void SetUp() override { FakeDriver::reset(); }
};

TEST_F(DriverQuery, ReadsThePciAddressOfTheOrdinal) {
  const DeviceQuery q = query_device(FakeDriver::api(), 1);
  ASSERT_TRUE(q.record) << q.error;
  EXPECT_EQ(FakeDriver::asked_ordinal, 1);
  EXPECT_EQ(q.record->device_id, 1u);
  EXPECT_EQ(q.record->pci_domain, 0u);
  EXPECT_EQ(q.record->pci_bus, 0x41u);
  EXPECT_EQ(q.record->pci_device, 0u);
  EXPECT_STREQ(q.record->name, "Fake GPU 1");
  EXPECT_EQ(q.record->hdr.kind, GT_EV_GPU_DEVICE);
}

TEST_F(DriverQuery, MissingFunctionsDescribeNothing) {
  DriverDeviceApi api = FakeDriver::api();
  api.get_attribute = nullptr;
  const DeviceQuery q = query_device(api, 0);
  EXPECT_FALSE(q.record);
  EXPECT_NE(q.error.find("not found"), std::string::npos) << q.error;
  EXPECT_FALSE(query_device(DriverDeviceApi{}, 0).record);
}

TEST_F(DriverQuery, FailedCallsDescribeNothing) {
  FakeDriver::get_result = CUDA_ERROR_INVALID_DEVICE;
  DeviceQuery q = query_device(FakeDriver::api(), 9);
  EXPECT_FALSE(q.record);
  EXPECT_NE(q.error.find("cuDeviceGet returned CUresult 101"), std::string::npos) << q.error;

  FakeDriver::reset();
  FakeDriver::attribute_result = CUDA_ERROR_DEINITIALIZED;
  FakeDriver::failing_attribute = CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID;
  q = query_device(FakeDriver::api(), 0);
  EXPECT_FALSE(q.record);
  EXPECT_NE(q.error.find("PCI_DEVICE_ID"), std::string::npos) << q.error;
}

TEST_F(DriverQuery, AddressesTheDaemonWouldRejectDescribeNothing) {
  FakeDriver::bus_value = 0x100;  // one bad record would cost the whole batch
  const DeviceQuery q = query_device(FakeDriver::api(), 0);
  EXPECT_FALSE(q.record);
  EXPECT_NE(q.error.find("out of range"), std::string::npos) << q.error;
}

TEST_F(DriverQuery, ADeviceWithoutANameIsStillBound) {
  FakeDriver::name_result = CUDA_ERROR_UNKNOWN;
  DeviceQuery q = query_device(FakeDriver::api(), 0);
  ASSERT_TRUE(q.record) << q.error;
  EXPECT_STREQ(q.record->name, "");
  EXPECT_EQ(q.record->pci_bus, 0x40u);
  DriverDeviceApi api = FakeDriver::api();
  api.get_name = nullptr;
  q = query_device(api, 0);
  ASSERT_TRUE(q.record) << q.error;
  EXPECT_STREQ(q.record->name, "");
}

// This process has no CUDA driver loaded (none is linked, and nothing here loads one).
TEST(DriverDeviceApi, FindsNothingWhereNoDriverIsLoaded) {
  if (void* h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD)) {
    ::dlclose(h);
    GTEST_SKIP() << "a CUDA driver is loaded in this process";
  }
  const DriverDeviceApi api = DriverDeviceApi::from_loaded_driver();
  EXPECT_EQ(api.device_get, nullptr);
  EXPECT_EQ(api.get_attribute, nullptr);
  EXPECT_FALSE(query_device(api, 0).record);
}

}  // namespace
}  // namespace gputrace::cupti
