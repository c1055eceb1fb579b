// Option values that once slipped through: a duration past int64 nanoseconds that wrapped to
// a second, a pid past 2^32 that became 0, "-1" read as 2^64-1, a device that is not a PCI
// address (tracing nothing, silently), an empty --listen.
#include "userspace/cli/daemon_config.h"
#include "userspace/cli/daemon_exporters.h"
#include "userspace/cli/options.h"
#include "userspace/cli/tracing_options.h"
#include "exporters/otlp/otlp_http.h"

#include <gtest/gtest.h>

namespace gputrace {
namespace {

TEST(CliOptionLimits, DurationPastTheRangeIsRefusedNotWrapped) {
  EXPECT_FALSE(parse_duration("99999999999999999999"));
  EXPECT_FALSE(parse_duration("1e300h"));
  ASSERT_TRUE(parse_duration("100000h"));
  EXPECT_EQ(parse_duration("100000h")->count(), 360'000'000'000'000'000);
  EXPECT_EQ(parse_duration("30s")->count(), 30'000'000'000);
}

TEST(CliOptionLimits, PidMustBeAKernelPid) {
  EXPECT_EQ(*parse_pid("4242"), 4242);
  for (const char* bad : {"4294967296", "4294967297", "0", "-1", "+5", " 5", "5x", "", "2147483648"})
    EXPECT_FALSE(parse_pid(bad)) << bad;
  Options o;
  declare_tracing_options(o);
  ASSERT_TRUE(o.parse({"--pid", "4294967296", "--no-gc"}));
  auto gc = gc_options(o);
  ASSERT_FALSE(gc);
  EXPECT_NE(gc.error().describe().find("not a process id"), std::string::npos);
}

TEST(CliOptionLimits, DeviceMustBeAPciAddress) {
  EXPECT_EQ(*parse_pci_address("0000:3B:00.0"), "0000:3b:00.0");
  EXPECT_EQ(*parse_pci_address("3b:00.1"), "0000:3b:00.1");
  for (const char* bad : {"notapci", "0000:3b:00", "0000:3b:00.8", "00000:3b:00.0", "0000:3g:00.0", ""})
    EXPECT_FALSE(parse_pci_address(bad)) << bad;
  Options o;
  declare_tracing_options(o);
  ASSERT_TRUE(o.parse({"--device", "notapci"}));
  auto c = tracing_config(o);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().describe().find("not a PCI address"), std::string::npos);
}

TEST(CliOptionLimits, CountsTakeNoSign) {
  EXPECT_EQ(*parse_positive("20", 1000), 20u);
  for (const char* bad : {"-1", "0", "+3", "1001", "18446744073709551615", "3 "}) EXPECT_FALSE(parse_positive(bad, 1000)) << bad;
}

TEST(CliOptionLimits, EmptyListenAddressIsRefused) {
  Options o = declare_daemon_options();
  ASSERT_TRUE(o.parse({"--listen", ""}));
  auto e = create_daemon_exporters(o, {});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().exit_code, 2);
  EXPECT_NE(e.error().error.describe().find("HOST:PORT"), std::string::npos) << e.error().error.describe();
}

TEST(CliOptionLimits, OtlpEndpointCredentialsAreRefusedAndNeverPrinted) {
  auto u = otlp::parse_http_url("https://alice:s3cret@collector:4318/v1");
  ASSERT_FALSE(u);
  const std::string message = u.error().describe();
  EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  EXPECT_EQ(message.find("alice"), std::string::npos) << message;
  EXPECT_NE(message.find("https://***@collector:4318/v1"), std::string::npos) << message;
  EXPECT_NE(message.find("OTEL_EXPORTER_OTLP_HEADERS"), std::string::npos) << message;
  auto bad_port = otlp::parse_http_url("http://bob:pw@collector:99999");
  ASSERT_FALSE(bad_port);
  EXPECT_EQ(bad_port.error().describe().find("pw"), std::string::npos);
  EXPECT_TRUE(otlp::parse_http_url("http://collector:4318/a@b"));  // an @ in the path is no userinfo
}

}  // namespace
}  // namespace gputrace
