package run

import (
	"errors"
	"net"
	"slices"
	"sync/atomic"
)

// The floor rows of the busy table: servers with no WebSocket code at all,
// driven by the same clients as the libraries. Each writes back the bytes
// it reads, as they come; the client's masked frame thus comes back to it
// unchanged (mask bit, key and masked payload), and the client, for these
// rows only, accepts its own masked frame as the echo (scaleConn.floor).
// What the floor includes: accepting the connection and a fixed 101
// answer, then for every message the read of the client's frame and one
// write of the same bytes, and the wake-ups that take (Go's netpoller and
// a goroutine per connection for tcp, a raw epoll loop for tcp-epoll).
// What it leaves out: parsing the frame, unmasking the payload, building
// a header, any buffering or message assembly; it also writes 4 bytes
// more per message than a library does (the mask key).

// BusyFloors are the floor rows of the busy table, in the order of the
// report: tcp (a goroutine per connection), on Linux tcp-epoll (an epoll
// event loop, one poller per GOMAXPROCS) and on linux/amd64 tcp-uring (the
// same on io_uring).
var BusyFloors = busyFloors

// IsBusyFloor reports whether name is one of BusyFloors.
func IsBusyFloor(name string) bool { return slices.Contains(BusyFloors, name) }

// BusySizes returns the payload sizes of sizes at which row name is
// measured: all of them, except that tcp-uring is measured up to 1 KiB
// only. It holds a receive buffer per connection that grows with the
// messages; at 16 KiB and 10,000 connections that reached 391 MiB and
// half tcp-epoll's rate (2026-12-06), so it is no floor there.
func BusySizes(name string, sizes []int) []int {
	if name != "tcp-uring" {
		return sizes
	}
	return slices.DeleteFunc(slices.Clone(sizes), func(n int) bool { return n > 1<<10 })
}

// busyFloor is a floor server of the busy rows; the child's spec is
// name+",raw,busy".
type busyFloor struct {
	ln    net.Listener
	conns atomic.Int64
}

// errFloorBroadcast is what a busy floor answers to a broadcast: these
// servers keep no registry of their connections.
var errFloorBroadcast = errors.New("run: the busy floors do not broadcast")

func (s *busyFloor) Broadcast([]byte) error { return errFloorBroadcast }
func (s *busyFloor) Conns() int             { return int(s.conns.Load()) }

// Close stops accepting; the connections live as long as the child.
func (s *busyFloor) Close() error { return s.ln.Close() }

// Floor read buffers: the goroutine floor's starts at floorBufMin bytes
// and doubles, up to floorBufMax, each time a read fills it, so that a
// connection reads a whole frame of the busy sizes with one read once
// warm, as the libraries' buffers do; the epoll floor reads into one
// floorBufMax buffer per poller.
const (
	floorBufMin = 2 << 10
	floorBufMax = 64 << 10
)

// serveTCPBusy is the tcp floor of the busy rows: a goroutine per
// connection reads the request head, writes the fixed 101, then reads
// from the net.Conn and writes what it read back with one Write, until
// the connection fails.
func serveTCPBusy(ln net.Listener) *busyFloor {
	s := &busyFloor{ln: ln}
	acceptEach(ln, func(nc net.Conn) {
		defer nc.Close()
		buf := make([]byte, floorBufMin)
		if _, err := readHead(nc, buf[:512]); err != nil {
			return
		}
		if _, err := nc.Write(fixed101); err != nil {
			return
		}
		s.conns.Add(1)
		defer s.conns.Add(-1)
		for {
			n, err := nc.Read(buf)
			if n > 0 {
				if _, werr := nc.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
			if n == len(buf) && len(buf) < floorBufMax {
				buf = make([]byte, 2*len(buf))
			}
		}
	})
	return s
}
