package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/bench/run"
)

func TestSplice(t *testing.T) {
	for _, tc := range []struct{ name, old, want string }{
		{"markers", "a\n" + beginMark + "\nold\n" + endMark + "\nb\n", "a\n" + beginMark + "\nnew\n" + endMark + "\nb\n"},
		{"notes", "a\n\n" + notesHead + "\nn\n", "a\n\n" + beginMark + "\nnew\n" + endMark + "\n\n" + notesHead + "\nn\n"},
		{"append", "a\n", "a\n\n" + beginMark + "\nnew\n" + endMark + "\n"},
		{"empty", "", beginMark + "\nnew\n" + endMark + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "p.md")
			if tc.old != "" {
				os.WriteFile(f, []byte(tc.old), 0o644)
			}
			if err := splice(f, "new\n"); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(f)
			if d := cmp.Diff(tc.want, string(got)); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// floorReport is a report of one busy cell (1,000 connections, 16 B) in
// which the floors echo fastest: they must show in the table, never as
// the best peer, and the targets must name them.
func floorReport(rates map[string]float64) *report {
	r := &report{cfg: config{conns: []int{1000}, sizes: []int{16}}}
	for name, v := range rates {
		r.addBusy(name, run.BusySample{Conns: 1000, Size: 16, Msgs: int(v), Elapsed: time.Second,
			Latency: run.Latency{P50: time.Millisecond, P90: 2 * time.Millisecond, P99: 3 * time.Millisecond, Max: 4 * time.Millisecond}, ServerCPU: time.Second})
	}
	return r
}

func TestBusyFloorRows(t *testing.T) {
	r := floorReport(map[string]float64{"tcp": 60000, "tcp-epoll": 70000, "hybi": 45000, "hybi-loop": 55000, "gobwas": 50000, "nbio": 52000})
	if n, v := r.best(r.busyLibs(), 1000, 16, rate, true); n != "nbio" || v != 52000 {
		t.Errorf("best peer = %s %v, want nbio 52000 (the floors are no peers)", n, v)
	}
	var b strings.Builder
	r.write(&b)
	out := b.String()
	for _, want := range []string{
		"| tcp | 60.0k | 1.15 |",
		"| tcp-epoll | 70.0k | 1.35 |",
		"| Loop msgs/s ≥ 1.2× the best peer, 1000 conns, 16 B | 55.0k msg/s, 1.06× nbio (52.0k); 1.2× the best peer is 62.4k msg/s, the tcp-epoll floor 70.0k msg/s; ×cpu 1.06 (nbio) | **missed** |",
		"| goroutine per connection msgs/s ≥ 1.0× the best goroutine peer, 1000 conns, 16 B | 45.0k msg/s, 0.90× gobwas (50.0k); the best goroutine peer is 50.0k msg/s, the tcp floor 60.0k msg/s; ×cpu 0.90 (gobwas) | **missed** |",
		"The rows **tcp**, **tcp-epoll** and **tcp-uring** are floors, not peers",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// A target above the floor says so.
	r = floorReport(map[string]float64{"tcp-epoll": 58000, "hybi-loop": 55000, "nbio": 52000})
	b.Reset()
	r.write(&b)
	want := "| Loop msgs/s ≥ 1.2× the best peer, 1000 conns, 16 B | 55.0k msg/s, 1.06× nbio (52.0k); 1.2× the best peer is 62.4k msg/s, above the tcp-epoll floor (58.0k msg/s, no WebSocket code); ×cpu 1.06 (nbio) | **missed** (above the tcp-epoll floor) |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("report lacks %q", want)
	}
	// With the io_uring floor measured too, the target names both floors.
	r = floorReport(map[string]float64{"tcp-epoll": 58000, "tcp-uring": 64000, "hybi-loop": 55000, "nbio": 52000})
	b.Reset()
	r.write(&b)
	want = "1.2× the best peer is 62.4k msg/s, above the tcp-epoll floor (58.0k msg/s, no WebSocket code); 1.2× the best peer is 62.4k msg/s, the tcp-uring floor 64.0k msg/s; ×cpu 1.06 (nbio) | **missed** (above the tcp-epoll floor) |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, b.String())
	}
}

// TestCPURatio: a row slowed by other processes (fewer msgs/s) that costs
// less server and client CPU per message than every peer shows ×r < 1 and
// ×cpu > 1, against the peer with the least CPU (not the fastest).
func TestCPURatio(t *testing.T) {
	r := &report{cfg: config{conns: []int{1000}, sizes: []int{16}}}
	add := func(name string, msgs int, server, client time.Duration) {
		r.addBusy(name, run.BusySample{Conns: 1000, Size: 16, Msgs: msgs, Elapsed: time.Second, ServerCPU: server, ClientCPU: client})
	}
	ms := time.Millisecond
	add("hybi", 45000, 450*ms, 450*ms)    // 20 s per million messages together
	add("gobwas", 50000, 550*ms, 550*ms)  // 22
	add("gorilla", 40000, 400*ms, 520*ms) // 23
	add("gws", 48000, 600*ms, 600*ms)     // 25
	add("tcp", 60000, 480*ms, 480*ms)     // 16: a floor, no peer
	var b strings.Builder
	r.write(&b)
	out := b.String()
	for _, want := range []string{
		"| hybi | 45.0k | 0.90 | 1.10 |",
		"| gws | 48.0k | 0.96 | 0.88 |",
		"| tcp | 60.0k | 1.20 | 1.38 |",
		"| goroutine per connection msgs/s ≥ 1.0× the best goroutine peer, 1000 conns, 16 B | 45.0k msg/s, 0.90× gobwas (50.0k); the best goroutine peer is 50.0k msg/s, the tcp floor 60.0k msg/s; ×cpu 1.10 (gobwas) | **missed** |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestRatiosWithoutPeers: a busy table with no peer row (only hybi's, as
// with -libs hybi,hybi-loop) has nothing to divide by, so its ×r and ×cpu
// cells say so instead of printing NaN.
func TestRatiosWithoutPeers(t *testing.T) {
	r := &report{cfg: config{conns: []int{1000}, sizes: []int{16}}}
	r.addBusy("hybi", run.BusySample{Conns: 1000, Size: 16, Msgs: 45000, Elapsed: time.Second, ServerCPU: time.Second / 2, ClientCPU: time.Second / 2})
	var b strings.Builder
	r.write(&b)
	out := b.String()
	if strings.Contains(out, "NaN") {
		t.Errorf("report prints NaN:\n%s", out)
	}
	if want := "| hybi | 45.0k | – | – |"; !strings.Contains(out, want) {
		t.Errorf("report lacks %q:\n%s", want, out)
	}
}
