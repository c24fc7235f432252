//go:build linux

package run

import "testing"

// MeasureHBFloor pings every connection once per round and counts every
// Pong: the pings, one read per Pong at least, and the CPU they took.
func TestMeasureHBFloor(t *testing.T) {
	const n, rounds, batch = 64, 3, 16
	f, err := MeasureHBFloor(n, rounds, batch)
	if err != nil {
		t.Fatal(err)
	}
	if f.Pings != n*rounds || f.Batch != batch || f.Reads < f.Pings || f.Waits < rounds*n/batch || f.CPU <= 0 {
		t.Errorf("MeasureHBFloor(%d, %d, %d) = %+v, want %d pings, at least as many reads, a wait per batch, some CPU", n, rounds, batch, f, n*rounds)
	}
}
