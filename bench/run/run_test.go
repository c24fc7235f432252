package run

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/bench/lib"
)

func TestMain(m *testing.M) {
	MaybeChild()
	os.Exit(m.Run())
}

// TestEcho checks every adapter's echo byte for byte at every size the
// benchmark uses, with and without permessage-deflate, and that a short
// measured run reports round trips.
func TestEcho(t *testing.T) {
	for _, l := range lib.All() {
		for _, deflate := range []bool{false, true} {
			sizes := []int{16, 1 << 10, 64 << 10, 1 << 20}
			if deflate {
				sizes = []int{16, 16 << 10}
			}
			for _, size := range sizes {
				name := l.Name
				if deflate {
					name += "-deflate"
				}
				t.Run(name+"-"+itoa(size), func(t *testing.T) {
					e, err := OpenEcho(l, deflate, size)
					if errors.Is(err, lib.ErrUnsupported) {
						t.Skip("not supported by the library or its adapter")
					}
					if err != nil {
						t.Fatal(err)
					}
					defer e.Close()
					for range 3 {
						if err := e.Check(); err != nil {
							t.Fatal(err)
						}
					}
					s, err := e.Run(time.Millisecond, 16)
					if err != nil {
						t.Fatal(err)
					}
					if s.RoundTrips < 16 {
						t.Errorf("RoundTrips = %d, want at least 16", s.RoundTrips)
					}
				})
			}
		}
	}
}

// TestTCPEcho checks the echo floor byte for byte at every size the
// benchmark uses, that a short measured run reports round trips, and that
// its round trips allocate nothing on the client side.
func TestTCPEcho(t *testing.T) {
	for _, size := range []int{16, 1 << 10, 64 << 10, 1 << 20} {
		t.Run(itoa(size), func(t *testing.T) {
			e, err := OpenTCPEcho(size)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			for range 3 {
				if err := e.Check(); err != nil {
					t.Fatal(err)
				}
			}
			s, err := e.Run(time.Millisecond, 16)
			if err != nil {
				t.Fatal(err)
			}
			if s.RoundTrips < 16 {
				t.Errorf("RoundTrips = %d, want at least 16", s.RoundTrips)
			}
			if a := testing.AllocsPerRun(20, func() {
				if err := e.once(); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("client allocations per round trip = %v, want 0", a)
			}
		})
	}
}

// pieceRecorder records the length of every Write.
type pieceRecorder struct{ lens []int }

func (w *pieceRecorder) Write(p []byte) (int, error) {
	w.lens = append(w.lens, len(p))
	return len(p), nil
}

// TestWritePieces checks that the echo floor hands the kernel one Write up
// to 1 MiB − 4 KiB and pieces of at most that beyond.
func TestWritePieces(t *testing.T) {
	const piece = 1<<20 - 4<<10
	tests := []struct {
		name string
		size int
		want []int
	}{
		{"empty", 0, nil},
		{"16B", 16, []int{16}},
		{"piece", piece, []int{piece}},
		{"piece+1", piece + 1, []int{piece, 1}},
		{"1MiB", 1 << 20, []int{piece, 4 << 10}},
		{"3piece+5", 3*piece + 5, []int{piece, piece, piece, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w pieceRecorder
			if err := writePieces(&w, make([]byte, tt.size)); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, w.lens); d != "" {
				t.Errorf("writePieces(%d bytes) write lengths (-want +got):\n%s", tt.size, d)
			}
		})
	}
}

// TestTCPEchoSizeRange checks that the floor refuses sizes its server would
// not accept instead of hanging.
func TestTCPEchoSizeRange(t *testing.T) {
	for _, size := range []int{0, -1, maxTCPEcho + 1} {
		if e, err := OpenTCPEcho(size); err == nil {
			e.Close()
			t.Errorf("OpenTCPEcho(%d): no error", size)
		}
	}
}

// TestUpgrade runs a few handshakes on both server paths of every library.
func TestUpgrade(t *testing.T) {
	for _, name := range append(names(), "tcp") {
		for _, http := range []bool{false, true} {
			path := "raw"
			if http {
				path = "http"
			}
			t.Run(name+"-"+path, func(t *testing.T) {
				s, err := MeasureUpgrade(name, http, 10)
				if errors.Is(err, lib.ErrUnsupported) {
					t.Skip("no such path")
				}
				if err != nil {
					t.Fatal(err)
				}
				if s.N != 10 || s.PerUpg <= 0 {
					t.Errorf("sample %+v: want N 10 and a positive time", s)
				}
			})
		}
	}
}

// TestIdle opens a few connections per library and broadcasts to them.
func TestIdle(t *testing.T) {
	for _, name := range append(names(), "tcp") {
		t.Run(name, func(t *testing.T) {
			s, err := MeasureIdle(name, 30)
			if err != nil {
				t.Fatal(err)
			}
			if s.Broadcast <= 0 {
				t.Errorf("broadcast time %v, want positive", s.Broadcast)
			}
		})
	}
}

func names() []string {
	var n []string
	for _, l := range lib.All() {
		n = append(n, l.Name)
	}
	return n
}

func itoa(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoaInt(n>>20) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoaInt(n>>10) + "KiB"
	}
	return itoaInt(n) + "B"
}

// TestDeflateNegotiated checks that every deflate echo server really
// accepts permessage-deflate, so the deflate row compares compression.
func TestDeflateNegotiated(t *testing.T) {
	for _, name := range names() {
		t.Run(name, func(t *testing.T) {
			child, err := StartChild(name, false, true)
			if errors.Is(err, lib.ErrUnsupported) {
				child, err = StartChild(name, true, true)
			}
			if errors.Is(err, lib.ErrUnsupported) {
				t.Skip("no permessage-deflate")
			}
			if err != nil {
				t.Fatal(err)
			}
			defer child.Stop()
			nc, head, err := rawHandshakeExt(child.Addr, "permessage-deflate; client_no_context_takeover; server_no_context_takeover")
			if err != nil {
				t.Fatal(err)
			}
			nc.Close()
			if !strings.Contains(strings.ToLower(head), "sec-websocket-extensions: permessage-deflate") {
				t.Errorf("response does not accept permessage-deflate:\n%s", head)
			}
		})
	}
}

// TestStatsAllocationFree checks that answering "stats" allocates nothing
// in the child, so the counters between two of them are the server's own.
// Background work in the child (package inits of the peers start
// goroutines) may allocate now and then, so the check is that some
// interval between consecutive answers is free of allocations: were the
// answer itself to allocate, none would be.
func TestStatsAllocationFree(t *testing.T) {
	child, err := StartChild("tcp", false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer child.Stop()
	var deltas []uint64
	var last Stats
	for i := range 10 {
		s, err := child.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			deltas = append(deltas, s.Mallocs-last.Mallocs)
		}
		last = s
	}
	if m := slices.Min(deltas); m != 0 {
		t.Errorf("allocations between consecutive stats answers: %v, want some 0", deltas)
	}
}
