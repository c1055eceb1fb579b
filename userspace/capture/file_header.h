// Encoding and validation of the capture file header: the magic, the format version and the
// facts about the host that recorded the capture.
#pragma once

#include "userspace/capture/capture.h"
#include "userspace/capture/format.h"
#include "userspace/util/result.h"

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace gputrace::capture {

// The whole file header for host, ready to be written at offset 0.
std::vector<std::byte> encode_file_header(const CaptureHostInfo& host);

// Checks the 16-byte prefix: magic, version this build reads, header length within bounds.
// name is how messages refer to the file (its path).
Result<FileHeaderPrefix> check_file_header_prefix(std::span<const std::byte> prefix, const std::string& name);

// Reads the host facts that follow the prefix (body is header_length - 16 bytes). Bytes after
// the facts this version knows are skipped: a later version may append facts.
Result<CaptureHostInfo> parse_host_facts(std::span<const std::byte> body, const std::string& name);

}  // namespace gputrace::capture
