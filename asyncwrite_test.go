package websocket

import (
	"runtime"
	"testing"
)

// What TLS adds to an idle connection: the asyncWriter (its goroutine and
// buffers exist only while bytes are outstanding). docs/performance.md
// quotes the figure logged here.
func TestAsyncWriterIdleMemory(t *testing.T) {
	const n = 2000
	ws := make([]*asyncWriter, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range ws {
		ws[i] = newAsyncWriter(nil)
	}
	runtime.ReadMemStats(&after)
	per := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("asyncWriter: %.0f bytes per idle TLS connection", per)
	if per > 256 {
		t.Errorf("asyncWriter holds %.0f bytes per idle connection, want at most 256", per)
	}
	runtime.KeepAlive(ws)
}
