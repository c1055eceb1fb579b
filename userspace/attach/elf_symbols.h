// DynamicSymbols: the exported symbols of one shared object (its .dynsym, default versions
// only) and where its first loadable segment starts, read with libelf from the very file a
// process maps (/proc/PID/map_files/...), so the addresses computed are that process's.
#pragma once

#include "userspace/attach/proc_facts.h"
#include "userspace/util/result.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gputrace::attach {

class DynamicSymbols {
 public:
  // Reads `path`; only the names in `wanted` are kept.
  static Result<DynamicSymbols> read(const std::string& path, const std::vector<std::string>& wanted);

  // The symbol's value (an offset from the load bias), or 0 when the file does not define it.
  uint64_t value(const std::string& name) const;
  // The lowest PT_LOAD's p_vaddr rounded down to a page: where the mapping at file offset 0 starts.
  uint64_t first_load_vaddr() const { return first_load_vaddr_; }
  bool is_x86_64() const { return x86_64_; }
  const std::string& build_id() const { return build_id_; }  // hex, "" when absent

 private:
  std::map<std::string, uint64_t> values_;
  uint64_t first_load_vaddr_ = 0;
  bool x86_64_ = false;
  std::string build_id_;
};

// The address in process `pid` of `name` in the shared object `lib` (one of its mappings),
// or 0. `symbols` must come from that same file.
uint64_t symbol_address(const std::vector<Mapping>& maps, const Mapping& lib, const DynamicSymbols& symbols,
                        const std::string& name);

// The mapping at file offset 0 of the file `lib` maps (same inode and path): its load base.
const Mapping* load_base(const std::vector<Mapping>& maps, const Mapping& lib);

}  // namespace gputrace::attach
