package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
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
