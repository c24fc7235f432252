package deflate

import (
	"compress/flate"
	"runtime"
	"testing"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestMemoryPerConnection measures the compression state a connection
// holds: with context takeover one flate.Writer and one Inflater stay
// allocated; without, nothing between messages (both are pooled).
func TestMemoryPerConnection(t *testing.T) {
	inf := allocated(func() {
		d := NewDecompressor(false)
		d.Inflate(make([]byte, 16), []byte{0x00})
		runtime.KeepAlive(d)
	})
	if inf > 48<<10 {
		t.Fatalf("decompressor with context takeover holds %d bytes", inf)
	}
	for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, flate.DefaultCompression} {
		var c *Compressor
		w := allocated(func() {
			c, _ = NewCompressor(level, false, 15)
			c.AppendMessage(nil, []byte("hello"))
		})
		t.Logf("context takeover, level %d: compressor %d bytes, decompressor %d bytes", level, w, inf)
		runtime.KeepAlive(c)
	}
	c, _ := NewCompressor(flate.DefaultCompression, true, 15)
	c.AppendMessage(nil, []byte("hello"))
	d := NewDecompressor(true)
	d.Inflate(make([]byte, 16), append([]byte{0x00}, Tail[:]...))
	d.EndMessage()
	if c.w != nil || d.f != nil {
		t.Fatal("no context takeover: state held between messages")
	}
}
