//go:build gputrace_cgo

// Built with -tags gputrace_cgo, the workload links C code: the Go linker then links
// externally (through gcc), as cgo services are, and the pclntab lands inside .data.rel.ro.
package main

// static int gputrace_cgo_linked(void) { return 1; }
import "C"

var cgoLinked = int(C.gputrace_cgo_linked())
