//go:build linux && (amd64 || arm64)

package netpoll

import (
	"reflect"
	"syscall"
	"testing"
)

func sysRead(fd int, b []byte) (int, error)  { return syscall.Read(fd, b) }
func sysWrite(fd int, b []byte) (int, error) { return syscall.Write(fd, b) }

// TestEpollEventLayout pins the assumption setToken rests on: Fd and Pad
// are the last 8 bytes of syscall.EpollEvent, where the kernel's epoll_data
// is.
func TestEpollEventLayout(t *testing.T) {
	typ := reflect.TypeFor[syscall.EpollEvent]()
	fd, _ := typ.FieldByName("Fd")
	pad, _ := typ.FieldByName("Pad")
	if fd.Offset+4 != pad.Offset || pad.Offset+4 != typ.Size() || fd.Type.Size() != 4 || pad.Type.Size() != 4 {
		t.Fatalf("EpollEvent: Fd at %d, Pad at %d, size %d; want the last 8 bytes", fd.Offset, pad.Offset, typ.Size())
	}
}

// TestTokenRoundTrip checks setToken and token without the kernel.
func TestTokenRoundTrip(t *testing.T) {
	for _, want := range []uint64{0, 1, 1<<32 - 1, 1 << 32, 1 << 63, ^uint64(0), 0x0123456789abcdef} {
		var ev syscall.EpollEvent
		setToken(&ev, want)
		if got := token(&ev); got != want {
			t.Errorf("token(setToken(%#x)) = %#x", want, got)
		}
	}
}
