package main

import (
	"os"
	"testing"
)

// TestReadCounters checks the /proc parsing against this process: a read
// system call and some CPU time show up in the counters.
func TestReadCounters(t *testing.T) {
	if _, err := os.Stat("/proc/self/io"); err != nil {
		t.Skip("no /proc/PID/io on this system")
	}
	c0, err := read("self")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<16)
	x := 0
	for range 200 {
		if _, err := f.Read(buf); err != nil {
			t.Fatal(err)
		}
		for _, b := range buf {
			x += int(b) + 1 // CPU time, so that utime+stime moves
		}
	}
	c1, err := read("self")
	if err != nil {
		t.Fatal(err)
	}
	if d := c1.reads - c0.reads; d < 200 {
		t.Errorf("reads went up by %v over 200 read calls", d)
	}
	if c1.cpu < c0.cpu || c1.switches < c0.switches || c1.writes < c0.writes {
		t.Errorf("a counter went down: before %+v, after %+v", c0, c1)
	}
	if c1.cpu <= 0 || x == 0 {
		t.Errorf("no CPU time counted: %+v", c1)
	}
}
