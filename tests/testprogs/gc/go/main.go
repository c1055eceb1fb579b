// GC workload for gputrace's Go test: explicit and allocation-triggered GC cycles, plus
// stop-the-worlds that are not GC (runtime.ReadMemStats, runtime.GOMAXPROCS).
//
// Usage: gcpauses [cycles] [--wait]   (--wait: read one line from stdin first)
// Prints, on CLOCK_MONOTONIC nanoseconds (runtime.nanotime, the tracer's clock):
//
//	window <begin> <end>
//	numgc <cycles completed inside the window>
//	pausetotal <MemStats.PauseTotalNs accrued inside the window>
//	notgc <ReadMemStats calls> <GOMAXPROCS changes>   (inside the window)
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	_ "unsafe" // go:linkname
)

//go:linkname nanotime runtime.nanotime
func nanotime() int64

var sink [][]byte

func main() {
	cycles := 60
	wait := false
	for _, a := range os.Args[1:] {
		if a == "--wait" {
			wait = true
		} else if n, err := strconv.Atoi(a); err == nil {
			cycles = n
		}
	}
	if wait {
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	var before, after, scratch runtime.MemStats
	runtime.GC() // no cycle in flight when the window opens
	runtime.ReadMemStats(&before)
	begin := nanotime()
	readMemStats, gomaxprocs := 0, 0
	procs := runtime.GOMAXPROCS(0)
	for i := 0; i < cycles; i++ {
		for j := 0; j < 2000; j++ {
			sink = append(sink, make([]byte, 1024))
		}
		if len(sink) > 40000 {
			sink = nil
		}
		runtime.GC()
		if i%10 == 5 {
			runtime.ReadMemStats(&scratch)
			readMemStats++
		}
		if i%20 == 10 {
			runtime.GOMAXPROCS(procs + 1) // a stop-the-world that is not GC
			runtime.GOMAXPROCS(procs)
			gomaxprocs += 2
		}
	}
	runtime.GC() // waits for any cycle the allocations started
	end := nanotime()
	runtime.ReadMemStats(&after)
	fmt.Printf("window %d %d\n", begin, end)
	fmt.Printf("numgc %d\n", after.NumGC-before.NumGC)
	fmt.Printf("pausetotal %d\n", after.PauseTotalNs-before.PauseTotalNs)
	fmt.Printf("notgc %d %d\n", readMemStats, gomaxprocs)
}
