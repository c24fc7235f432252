package websocket

import (
	"testing"
	"unsafe"
)

// TestConnSizeClass keeps a Conn within the allocator's 1024-byte size
// class. An object above 512 bytes that holds pointers carries an 8-byte
// header in front of it (Go 1.22's allocation headers), so a Conn of up to
// 1016 bytes fits; one byte more costs every connection, idle ones
// included, 128 bytes (the next class is 1152). If a new field does not
// fit, move cold state behind a pointer allocated only when used (see
// docs/architecture.md).
func TestConnSizeClass(t *testing.T) {
	const header = 8
	if n := unsafe.Sizeof(Conn{}); n+header > 1024 {
		t.Errorf("Conn is %d bytes, want at most %d (with the allocator's %d-byte header the next size class is 1152)", n, 1024-header, header)
	}
}

// TestHubMemberSize keeps a Hub's idle member in the 80-byte size class:
// a hub holds one per connection, for the connection's whole life.
func TestHubMemberSize(t *testing.T) {
	if n := unsafe.Sizeof(hubMember{}); n > 80 {
		t.Errorf("hubMember is %d bytes, want at most 80", n)
	}
}
