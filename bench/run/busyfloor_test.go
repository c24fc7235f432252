package run

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"
)

// TestBusyFloorEcho checks that each floor of the busy rows echoes: every
// byte a client sends comes back, in order and unchanged, for frames of
// the busy sizes, frames larger than the floors' read buffers (several
// reads, and writes the socket does not take whole), and several frames
// sent before any is read.
func TestBusyFloorEcho(t *testing.T) {
	const conns = 12
	const lateSize = 16 << 20
	sizes := []int{0, 16, 1024, 16 << 10, floorBufMax + 1, 1 << 20, lateSize}
	for _, name := range BusyFloors {
		t.Run(name, func(t *testing.T) {
			child, err := startBusy(name)
			if err != nil {
				t.Fatal(err)
			}
			defer child.Stop()
			cs, _, err := openScale(child.Addr, conns)
			if err != nil {
				t.Fatal(err)
			}
			defer closeScale(cs)
			for _, size := range sizes {
				frame := maskedFrame(Payload(size, false))
				for i, c := range cs {
					// Three frames written by one goroutine while this
					// one reads: nothing waits on the other side.
					want := bytes.Repeat(frame, 3)
					late := size == lateSize && i == 0
					if late {
						// A client that starts reading late: the
						// server's socket cannot take all it writes
						// back at once (its send buffer is at most 4
						// MiB here, tcp_wmem), which the epoll floor
						// keeps until the socket is writable.
						want = frame
					} else if size == lateSize {
						continue
					}
					errc := make(chan error, 1)
					go func() {
						c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
						_, err := c.nc.Write(want)
						errc <- err
					}()
					got := make([]byte, len(want))
					if late {
						time.Sleep(300 * time.Millisecond)
					}
					c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
					n, err := io.ReadFull(c.br, got)
					if werr := <-errc; werr != nil {
						t.Fatalf("connection %d, %d B: write: %v", i, size, werr)
					}
					if err != nil {
						t.Fatalf("connection %d, %d B: read %d of %d bytes: %v", i, size, n, len(want), err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("connection %d, %d B: the echo differs from the frames sent", i, size)
					}
				}
			}
			// Nothing more came back than was sent: the next bytes
			// are the echo of the next frame, which the client of the
			// busy rows reads as a frame.
			for i, c := range cs {
				c.nc.SetDeadline(time.Now().Add(10 * time.Second))
				c.floor = true
				if err := c.roundTrip(maskedFrame(Payload(100, false)), 100); err != nil {
					t.Errorf("connection %d: roundTrip: %v", i, err)
				}
			}
			if st, err := child.Stats(); err != nil || st.Conns != conns {
				t.Errorf("the server holds %d connections (%v), want %d", st.Conns, err, conns)
			}
		})
	}
}

// TestFloorRejectsUnmasked: the floor client accepts only a masked frame,
// the others only an unmasked one, so a floor row cannot pass off a
// library's echo or the reverse.
func TestFloorRejectsUnmasked(t *testing.T) {
	for _, tc := range []struct {
		floor bool
		frame []byte
		ok    bool
	}{
		{false, []byte{0x82, 2, 'h', 'i'}, true},
		{true, []byte{0x82, 2, 'h', 'i'}, false},
		{true, maskedFrame([]byte("hi")), true},
		{false, maskedFrame([]byte("hi")), false},
	} {
		t.Run(fmt.Sprintf("floor=%v,% x", tc.floor, tc.frame[:2]), func(t *testing.T) {
			c := &scaleConn{br: bufio.NewReader(bytes.NewReader(tc.frame)), floor: tc.floor}
			op, p, err := c.readFrame()
			if ok := err == nil && op == 2 && len(p) == 2; ok != tc.ok {
				t.Errorf("readFrame = %d, %q, %v; want success %v", op, p, err, tc.ok)
			}
		})
	}
}

// TestBusySizes: every row is measured at every size but tcp-uring, which
// is a floor up to 1 KiB only.
func TestBusySizes(t *testing.T) {
	sizes := []int{16, 1024, 16384}
	for _, name := range []string{"tcp", "tcp-epoll", "hybi", "nbio"} {
		if got := BusySizes(name, sizes); !slices.Equal(got, sizes) {
			t.Errorf("BusySizes(%s) = %v, want %v", name, got, sizes)
		}
	}
	if got := BusySizes("tcp-uring", sizes); !slices.Equal(got, []int{16, 1024}) {
		t.Errorf("BusySizes(tcp-uring) = %v, want [16 1024]", got)
	}
	if !slices.Equal(sizes, []int{16, 1024, 16384}) {
		t.Errorf("BusySizes changed its argument: %v", sizes)
	}
}
