package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hybi/websocket/bench/internal/mdreport"
)

func TestSplice(t *testing.T) {
	f := filepath.Join(t.TempDir(), "p.md")
	if err := os.WriteFile(f, []byte("# P\n\nkeep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{"one\n", "two\n"} {
		if err := splice(f, sec); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(f)
	want := "# P\n\nkeep\n\n" + beginMark + "\ntwo\n" + endMark + "\n"
	if string(b) != want {
		t.Errorf("after two splices:\n%q\nwant\n%q", b, want)
	}
	if strings.Contains(string(b), "one") {
		t.Error("the first section was not replaced")
	}
}

func TestMedian(t *testing.T) {
	f := func(r result) float64 { return r.srvHeap }
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 2, 3}, 2.5}} {
		var rs []result
		for _, v := range c.in {
			rs = append(rs, result{srvHeap: v})
		}
		if got := mdreport.Median(rs, f); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestModeByName(t *testing.T) {
	if m, err := modeByName("1"); err != nil || !m.on || m.srv != nil {
		t.Errorf("mode 1 = %+v, %v; want takeover both ways, 15 bits", m, err)
	}
	for _, s := range []string{"", "-1", "7", "x"} {
		if _, err := modeByName(s); err == nil {
			t.Errorf("modeByName(%q) did not fail", s)
		}
	}
}
