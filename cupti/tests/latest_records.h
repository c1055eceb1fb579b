// The CUPTI record versions the linked libcupti writes, chosen from the headers' version.
//
// libcupti walks a buffer (cuptiActivityGetNextRecord) by the record size of the version its
// own release emits, so a hand-made buffer must be laid out in that version, not in the
// newest one the headers happen to declare. CUPTI_API_VERSION: 24 = CUDA 12.6, 26 = 12.8,
// 130000 = 13.0 (cupti_version.h).
#pragma once

#include <cupti.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // older versions on older toolkits

namespace gputrace::cupti::testing {

#if CUPTI_API_VERSION >= 130200
// CUDA 13.2 emits CUpti_ActivityKernel11 and later releases newer versions still: hand-made
// buffers in the versions below would be walked at the wrong sizes.
#error "cupti/tests/latest_records.h: add the record versions this CUDA release emits"
#elif CUPTI_API_VERSION >= 130000
using LatestKernel = CUpti_ActivityKernel10;
#else
using LatestKernel = CUpti_ActivityKernel9;
#endif

#if CUPTI_API_VERSION >= 26
using LatestMemcpy = CUpti_ActivityMemcpy6;
#else
using LatestMemcpy = CUpti_ActivityMemcpy5;
#endif

using LatestMemset = CUpti_ActivityMemset4;  // CUDA 11.6 to 13.1

#if CUPTI_API_VERSION >= 24
using LatestMemory = CUpti_ActivityMemory4;
#else
using LatestMemory = CUpti_ActivityMemory3;
#endif

// A kind gputrace does not ship, for the "skipped" paths. Context3 is what CUDA 12.9 and 13.0-13.1
// emit; which 12.x release introduced it is not known here, so earlier ones use Context2.
#if CUPTI_API_VERSION >= 27
using LatestContext = CUpti_ActivityContext3;
#else
using LatestContext = CUpti_ActivityContext2;
#endif

}  // namespace gputrace::cupti::testing

#pragma GCC diagnostic pop
