package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/bench/run"
)

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkMask/16B/lib=hybi-2         	    2000	         4.292 ns/op	3728.30 MB/s	       0 B/op	       0 allocs/op
BenchmarkHeaderEncode/len=125/lib=gobwas-2       	    2000	        18.65 ns/op	      16 B/op	       1 allocs/op
BenchmarkMask/16B/lib=hybi-2         	    2000	         5.000 ns/op	3000.00 MB/s	       0 B/op	       0 allocs/op
PASS
`
	want := map[string][]benchResult{
		"BenchmarkMask/16B/lib=hybi":               {{nsop: 4.292, mbs: 3728.30}, {nsop: 5, mbs: 3000}},
		"BenchmarkHeaderEncode/len=125/lib=gobwas": {{nsop: 18.65, bop: 16, allocs: 1}},
	}
	got := parseBench(out)
	if d := cmp.Diff(want, got, cmp.AllowUnexported(benchResult{})); d != "" {
		t.Errorf("parseBench (-want +got):\n%s", d)
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want stat
	}{
		{"empty", nil, stat{}},
		{"one", []float64{3}, stat{med: 3, spread: 0, n: 1, ok: true}},
		{"odd", []float64{3, 1, 2}, stat{med: 2, spread: 1, n: 3, ok: true}},
		{"even", []float64{4, 1, 2, 3}, stat{med: 2.5, spread: 1.2, n: 4, ok: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, summarize(tt.in), cmp.AllowUnexported(stat{})); d != "" {
				t.Errorf("summarize(%v) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func TestBusy(t *testing.T) {
	tests := []struct {
		load string
		want bool
	}{
		{"0.10 0.20 0.30", false},
		{"999 1 1", true},
		{"?", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := busy(tt.load); got != tt.want {
			t.Errorf("busy(%q) = %v, want %v", tt.load, got, tt.want)
		}
	}
}

// echoReport is a report holding plain echo samples at 16 B for tcp,
// hybi, hybi-loop and gobwas, and deflate samples for hybi: the tcp floor
// is the fastest row and hybi-loop the fastest library, so that either
// would win any comparison it took part in.
func echoReport() *report {
	r := &report{}
	sample := func(msgs int) run.EchoSample {
		return run.EchoSample{RoundTrips: msgs, Elapsed: time.Second, ClientAllocs: 1, ClientBytes: 64}
	}
	for name, msgs := range map[string]int{"tcp": 100000, "hybi": 50000, "hybi-loop": 60000, "gobwas": 40000} {
		r.addEcho(echoKey{16, false}, name, sample(msgs))
	}
	r.addEcho(echoKey{16 << 10, true}, "hybi", sample(1000))
	return r
}

// lines returns the lines of s that start with prefix.
func lines(s, prefix string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func TestWriteEchoFloor(t *testing.T) {
	var b strings.Builder
	echoReport().writeEcho(func(f string, a ...any) { fmt.Fprintf(&b, f, a...) })
	out := b.String()
	plain, deflate, ok := strings.Cut(out, "## permessage-deflate echo")
	if !ok {
		t.Fatalf("no deflate section in:\n%s", out)
	}
	want := []string{
		"| tcp | 100.0k ±0% | 1.6 | 1 | 64 B | 0 | 0 B |",
		"| hybi | 50.0k ±0% | 0.8 | 1 | 64 B | 0 | 0 B |",
		"| hybi-loop | 60.0k ±0% ×0.83 | 1.0 | 1 | 64 B | 0 | 0 B |",
		"| gorilla | no data | | | | | |",
		"| coder | no data | | | | | |",
		"| gobwas | 40.0k ±0% ×1.25 | 0.6 | 1 | 64 B | 0 | 0 B |",
		"| gws | no data | | | | | |",
		"| nbio | no data | | | | | |",
	}
	got := lines(plain, "| ")[1:] // after the header row
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("16 B echo table (-want +got):\n%s", d)
	}
	for _, want := range []string{"The **tcp** row is the floor", "one write per direction, in pieces of at most 1 MiB − 4 KiB as hybi does"} {
		if !strings.Contains(plain, want) {
			t.Errorf("echo intro lacks %q:\n%s", want, plain)
		}
	}
	if l := lines(deflate, "| tcp "); len(l) != 0 {
		t.Errorf("deflate table has a tcp row: %q", l)
	}
}

func TestEchoFloorNotAPeer(t *testing.T) {
	r := echoReport()
	var b strings.Builder
	p := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	r.writeTargets(p)
	r.writeSummary(p)
	want := []string{
		"| echo msgs/s ≥ best peer at 16 B (gobwas: 40.0k msg/s) | hybi Loop: 60.0k msg/s, 1.50×; goroutine per connection: 50.0k msg/s, 1.25× | met by both |",
		"| echo 16 B | 50.0k msg/s | gobwas 40.0k msg/s | 1.25 | hybi ahead |",
	}
	got := lines(b.String(), "| echo ")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("echo rows of the targets and the summary (-want +got):\n%s", d)
	}
}

func TestEchoNames(t *testing.T) {
	tests := []struct {
		libs    string
		deflate bool
		want    []string
	}{
		{"", false, []string{"tcp", "hybi", "hybi-loop", "gorilla", "coder", "gobwas", "gws", "nbio"}},
		{"", true, []string{"hybi", "hybi-loop", "gorilla", "coder", "gobwas", "gws", "nbio"}},
		{"tcp,hybi,hybi-loop,gobwas", false, []string{"tcp", "hybi", "hybi-loop", "gobwas"}},
		{"tcp,hybi,gobwas", false, []string{"tcp", "hybi", "gobwas"}},
		{"tcp,hybi,gobwas", true, []string{"hybi", "gobwas"}},
		{"hybi,gobwas", false, []string{"hybi", "gobwas"}},
		{"tcp", false, []string{"tcp"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/deflate=%v", tt.libs, tt.deflate), func(t *testing.T) {
			r := &report{cfg: config{libs: tt.libs}}
			if d := cmp.Diff(tt.want, r.echoNames(tt.deflate)); d != "" {
				t.Errorf("echoNames (-want +got):\n%s", d)
			}
		})
	}
}

// connReport is a report holding upgrade and idle samples for the tcp
// floor, hybi, hybi-loop, gobwas and nbio, and in-memory upgrade results
// for hybi and gobwas. hybi-loop is the cheapest on every row, so that it
// would be the best peer were it counted as one.
func connReport() *report {
	r := &report{}
	up := func(ns time.Duration, allocs float64) run.UpgradeSample {
		return run.UpgradeSample{N: 100, PerUpg: ns, Allocs: allocs, AllocByte: 100 * allocs}
	}
	for name, s := range map[string]run.UpgradeSample{
		"tcp":       up(20*time.Microsecond, 4),
		"hybi":      up(40*time.Microsecond, 12),
		"hybi-loop": up(30*time.Microsecond, 8),
		"gobwas":    up(50*time.Microsecond, 10),
		"nbio":      up(60*time.Microsecond, 20),
	} {
		r.addUpgrade(name, false, s)
	}
	idle := func(heap, stack, rss float64, bc time.Duration) run.IdleSample {
		return run.IdleSample{N: 2000, Heap: heap, Stack: stack, HeapStack: heap + stack, RSS: rss, Broadcast: bc, BroadcastCPU: bc / 2}
	}
	for name, s := range map[string]run.IdleSample{
		"tcp":       idle(1400, 2048, 3500, 0),
		"hybi":      idle(3000, 4096, 7500, 4*time.Millisecond),
		"hybi-loop": idle(3000, 0, 3600, 2*time.Millisecond),
		"gobwas":    idle(5000, 2048, 7000, 5*time.Millisecond),
		"nbio":      idle(1200, 0, 4500, 3*time.Millisecond),
	} {
		r.addIdle(name, s)
	}
	r.microRes = map[string][]benchResult{
		"BenchmarkUpgrade/raw/lib=hybi":   {{nsop: 1000, allocs: 2}},
		"BenchmarkUpgrade/raw/lib=gobwas": {{nsop: 2000, allocs: 1}},
	}
	return r
}

func TestLoopRows(t *testing.T) {
	var b strings.Builder
	p := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	r := connReport()
	r.writeUpgrade(p)
	r.writeIdle(p)
	out := b.String()
	want := []string{
		"| hybi | 40.00 µs ±0% | 12.0 | 1200 B | n/a | | |",
		"| hybi-loop | 30.00 µs ±0% ×0.75 | 8.0 ×0.67 | 800 B | n/a | | |",
		"| hybi | 1.00 µs ±0% | 2 | 0 B | n/a | | |",
		"| hybi | 7096 B ±0% | 3000 B | 4096 B | 7500 B ±0% | 4.00 ms ±0% | 2.00 ms |",
		"| hybi-loop | 3000 B ±0% ×0.42 | 3000 B | 0 B | 3600 B ±0% ×0.48 | 2.00 ms ±0% ×0.50 | 1.00 ms ×0.50 |",
	}
	got := append(lines(out, "| hybi |"), lines(out, "| hybi-loop |")...)
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("hybi and hybi-loop rows of the upgrade and idle tables (-want +got):\n%s", d)
	}
	// The in-memory table is the microbenchmarks': hybi-loop's code is
	// hybi's there, so it has no row.
	_, micro, _ := strings.Cut(out, "In memory (`BenchmarkUpgrade`")
	micro, _, _ = strings.Cut(micro, "## Many connections")
	if l := lines(micro, "| hybi-loop "); len(l) != 0 {
		t.Errorf("in-memory upgrade table has a hybi-loop row: %q", l)
	}
}

func TestSummaryLoopNotAPeer(t *testing.T) {
	var b strings.Builder
	connReport().writeSummary(func(f string, a ...any) { fmt.Fprintf(&b, f, a...) })
	want := []string{
		"| upgrade in memory, raw: time | 1.00 µs | gobwas 2.00 µs | 2.00 | hybi ahead |",
		"| upgrade in memory, raw: allocs | 2 | gobwas 1 | 0.50 | **peer ahead** |",
		"| upgrade over TCP, raw: time | 40.00 µs | gobwas 50.00 µs | 1.25 | hybi ahead |",
		"| upgrade over TCP, raw: time (hybi Loop) | 30.00 µs | gobwas 50.00 µs | 1.67 | hybi ahead |",
		"| upgrade over TCP, raw: allocs | 12.0 | gobwas 10.0 | 0.83 | **peer ahead** |",
		"| upgrade over TCP, raw: allocs (hybi Loop) | 8.0 | gobwas 10.0 | 1.25 | hybi ahead |",
		"| idle connection: heap + stacks | 7096 B | nbio 1200 B | 0.17 | **peer ahead** |",
		"| idle connection: heap + stacks (hybi Loop) | 3000 B | nbio 1200 B | 0.40 | **peer ahead** |",
		"| idle connection: RSS | 7500 B | nbio 4500 B | 0.60 | **peer ahead** |",
		"| idle connection: RSS (hybi Loop) | 3600 B | nbio 4500 B | 1.25 | hybi ahead |",
		"| broadcast 64 B to all | 4.00 ms | nbio 3.00 ms | 0.75 | **peer ahead** |",
		"| broadcast 64 B to all (hybi Loop) | 2.00 ms | nbio 3.00 ms | 1.50 | hybi ahead |",
		"| broadcast 64 B to all: server CPU | 2.00 ms | nbio 1.50 ms | 0.75 | **peer ahead** |",
		"| broadcast 64 B to all: server CPU (hybi Loop) | 1.00 ms | nbio 1.50 ms | 1.50 | hybi ahead |",
	}
	got := lines(b.String(), "| ")[1:] // after the header row
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	if l := lines(b.String(), "| echo "); len(l) != 0 {
		t.Errorf("summary has echo rows without echo data: %q", l)
	}
	b.Reset()
	echoReport().writeSummary(func(f string, a ...any) { fmt.Fprintf(&b, f, a...) })
	if l := lines(b.String(), "| echo "); len(l) != 1 || strings.Contains(l[0], "hybi-loop") {
		t.Errorf("echo rows of the summary: %q, want one, with gobwas as the best peer", l)
	}
}

func TestTargetsLoop(t *testing.T) {
	idle := func(heapStack, rss float64) run.IdleSample {
		return run.IdleSample{N: 2000, HeapStack: heapStack, RSS: rss}
	}
	up := func(allocs float64) run.UpgradeSample { return run.UpgradeSample{N: 100, Allocs: allocs} }
	tests := []struct {
		name  string
		idles map[string]run.IdleSample
		ups   map[string]run.UpgradeSample
		want  []string
	}{
		{
			name:  "loop meets both",
			idles: map[string]run.IdleSample{"hybi": idle(7000, 7500), "hybi-loop": idle(3000, 3600)},
			ups:   map[string]run.UpgradeSample{"tcp": up(4), "hybi": up(12), "hybi-loop": up(8)},
			want: []string{
				"| memory per idle connection ≤ 4 KB | hybi Loop: 3000 B heap+stacks, 3600 B RSS; goroutine per connection: 7000 B heap+stacks, 7500 B RSS | met by hybi Loop |",
				"| server upgrade over TCP ≤ 10 allocations (raw path) | hybi Loop: 8.0 per connection; goroutine per connection: 12.0 per connection; the TCP floor (accept, our goroutine, a parked read) is 4.0 | met by hybi Loop |",
			},
		},
		{
			name:  "both meet the upgrade target",
			idles: map[string]run.IdleSample{"hybi": idle(7000, 7500), "hybi-loop": idle(3000, 4200)},
			ups:   map[string]run.UpgradeSample{"hybi": up(9), "hybi-loop": up(8)},
			want: []string{
				"| memory per idle connection ≤ 4 KB | hybi Loop: 3000 B heap+stacks, 4200 B RSS; goroutine per connection: 7000 B heap+stacks, 7500 B RSS | **missed** |",
				"| server upgrade over TCP ≤ 10 allocations (raw path) | hybi Loop: 8.0 per connection; goroutine per connection: 9.0 per connection | met by both |",
			},
		},
		{
			name:  "hybi only",
			idles: map[string]run.IdleSample{"hybi": idle(3000, 3500)},
			ups:   map[string]run.UpgradeSample{"hybi": up(12)},
			want: []string{
				"| memory per idle connection ≤ 4 KB | goroutine per connection: 3000 B heap+stacks, 3500 B RSS | met by goroutine per connection |",
				"| server upgrade over TCP ≤ 10 allocations (raw path) | goroutine per connection: 12.0 per connection | **missed** |",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &report{}
			for name, s := range tt.idles {
				r.addIdle(name, s)
			}
			for name, s := range tt.ups {
				r.addUpgrade(name, false, s)
			}
			var b strings.Builder
			r.writeTargets(func(f string, a ...any) { fmt.Fprintf(&b, f, a...) })
			got := append(lines(b.String(), "| memory "), lines(b.String(), "| server upgrade ")...)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("targets (-want +got):\n%s", d)
			}
		})
	}
}

// Each echo round runs every library once, in an order that repeats from
// run to run, and over the rounds every library runs right after every
// other one, so that no library always follows the same neighbour.
func TestEchoOrder(t *testing.T) {
	const n = 8
	follows := map[[2]int]int{}
	for round := range 200 {
		order := echoOrder(n, round, 16)
		if got := echoOrder(n, round, 16); !slices.Equal(got, order) {
			t.Fatalf("round %d: order %v, then %v", round, order, got)
		}
		seen := make([]bool, n)
		for k, i := range order {
			if i < 0 || i >= n || seen[i] {
				t.Fatalf("round %d: %v is not a permutation of 0..%d", round, order, n-1)
			}
			seen[i] = true
			if k > 0 {
				follows[[2]int{order[k-1], i}]++
			}
		}
	}
	for a := range n {
		for b := range n {
			if a != b && follows[[2]int{a, b}] == 0 {
				t.Errorf("library %d never ran right after library %d", b, a)
			}
		}
	}
}
