package websocket

import (
	"testing"
	"unsafe"
)

// TestConnSizeClass keeps a Conn within the allocator's 2048-byte size
// class: one byte more costs every connection, idle ones included, 256
// bytes (the next class is 2304). If a new field does not fit, move cold
// state behind a pointer allocated only when used (see docs/architecture.md).
func TestConnSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 2048 {
		t.Errorf("Conn is %d bytes, want at most 2048 (the allocator would round it to 2304)", n)
	}
}
