package run

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestBusyFloorsReject checks that every floor of the busy rows, tcp-uring
// among them where it is built, refuses what tcp-epoll refuses: 512 bytes
// with no end of a request head get no 101 and the connection closed; and
// that a floor's echo (the client's own masked frame) fails a library
// row's client, so a floor cannot pass for a library.
func TestBusyFloorsReject(t *testing.T) {
	for _, name := range BusyFloors {
		t.Run(name, func(t *testing.T) {
			child, err := startBusy(name)
			if err != nil {
				t.Fatal(err)
			}
			defer child.Stop()
			nc, err := net.DialTimeout("tcp", child.Addr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := nc.Write(bytes.Repeat([]byte("x"), 512)); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(nc)
			if len(got) != 0 || err != nil {
				t.Errorf("after an overlong head: %q, %v; want nothing and EOF", got, err)
			}
			cs, _, err := openScale(child.Addr, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer closeScale(cs)
			cs[0].nc.SetDeadline(time.Now().Add(10 * time.Second))
			if err := cs[0].roundTrip(maskedFrame(Payload(16, false)), 16); err == nil {
				t.Error("a library's client took the floor's echo")
			}
		})
	}
}
