package mask

import (
	"runtime"
	"syscall"
	"testing"
)

// measureCPU makes a benchmark also report the CPU time its goroutine's
// thread used per operation (cpu-ns/op) and the throughput that gives
// (cpu-MB/s, when bytes > 0). Unlike ns/op, these do not count time the
// benchmark spent waiting for a CPU, which on a busy shared machine is most
// of the noise. Call it right before the b.Loop loop and the returned
// function right after.
func measureCPU(b *testing.B, bytes int) (stop func()) {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		used := threadCPU() - start
		runtime.UnlockOSThread()
		if b.N > 0 {
			ns := float64(used) / float64(b.N)
			b.ReportMetric(ns, "cpu-ns/op")
			if bytes > 0 && ns > 0 {
				b.ReportMetric(float64(bytes)*1e3/ns, "cpu-MB/s")
			}
		}
	}
}

// threadCPU returns the user and system CPU time of the calling thread in
// nanoseconds.
func threadCPU() int64 {
	const rusageThread = 1 // RUSAGE_THREAD, Linux only
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
