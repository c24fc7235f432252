package main

import (
	"fmt"
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
// hybi and gobwas, and deflate samples for hybi: the tcp floor is the
// fastest row, so that it would win any comparison it took part in.
func echoReport() *report {
	r := &report{}
	sample := func(msgs int) run.EchoSample {
		return run.EchoSample{RoundTrips: msgs, Elapsed: time.Second, ClientAllocs: 1, ClientBytes: 64}
	}
	for name, msgs := range map[string]int{"tcp": 100000, "hybi": 50000, "gobwas": 40000} {
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
	if !strings.Contains(plain, "The **tcp** row is the floor") {
		t.Errorf("echo intro does not explain the tcp row:\n%s", plain)
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
		"| echo msgs/s ≥ best peer at 16 B | 50.0k msg/s, 1.25× gobwas (40.0k msg/s) | met |",
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
		{"", false, []string{"tcp", "hybi", "gorilla", "coder", "gobwas", "gws", "nbio"}},
		{"", true, []string{"hybi", "gorilla", "coder", "gobwas", "gws", "nbio"}},
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
