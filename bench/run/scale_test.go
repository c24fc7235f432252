package run

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hybi/websocket/bench/lib"
)

// TestMeasureBusy runs a tiny busy cell on hybi-loop, one peer and the
// floors: every message is echoed and counted, and the latency and server
// figures are filled in.
func TestMeasureBusy(t *testing.T) {
	for _, name := range append([]string{"hybi-loop", "gws"}, BusyFloors...) {
		ss, err := MeasureBusy(name, 20, []int{16, 20000}, func(int) int { return 100 })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(ss) != 2 {
			t.Fatalf("%s: %d samples, want 2", name, len(ss))
		}
		for _, s := range ss {
			if s.Msgs != 100 || s.Conns != 20 {
				t.Errorf("%s %d B: Msgs, Conns = %d, %d, want 100, 20", name, s.Size, s.Msgs, s.Conns)
			}
			if s.P50 <= 0 || s.P50 > s.P99 || s.P99 > s.Max {
				t.Errorf("%s %d B: latency %+v not ordered", name, s.Size, s.Latency)
			}
			if s.PeakRSS == 0 || s.MsgsPerSec() <= 0 {
				t.Errorf("%s %d B: peak RSS %d, %f msgs/s", name, s.Size, s.PeakRSS, s.MsgsPerSec())
			}
		}
	}
}

// TestMeasureSlow runs the slow-reader row small: the slow connection
// sends, stays open, and the others' echoes are measured both ways.
func TestMeasureSlow(t *testing.T) {
	s, err := MeasureSlow(10, 1024, 180, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if s.Msgs != 180 || s.Without.P99 <= 0 || s.With.P99 <= 0 {
		t.Errorf("sample %+v: messages or latencies missing", s)
	}
	if s.SlowSent < 16<<10 || !s.SlowOpen {
		t.Errorf("slow reader sent %d bytes, still open %v; want some and true", s.SlowSent, s.SlowOpen)
	}
}

// TestMeasureIdleHB runs the heartbeat row small on hybi-loop-hb: pings
// arrive within the window, and the broadcast reaches every client.
func TestMeasureIdleHB(t *testing.T) {
	t.Setenv(lib.HeartbeatEnv, "100ms")
	s, err := MeasureIdleHB("hybi-loop-hb", 20, 350*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pings < 20 || s.Broadcast <= 0 || s.Connect <= 0 {
		t.Errorf("sample %+v: want at least one ping per connection and a broadcast", s)
	}
}

func TestLatency(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(100-i) * time.Millisecond
	}
	got := latency(d)
	want := Latency{P50: 51 * time.Millisecond, P90: 91 * time.Millisecond, P99: 100 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("latency = %+v, want %+v", got, want)
	}
}

// TestDialEach: dialEach dials every index once, and dialFrom spreads the
// connections over the source addresses 127.0.0.1 to 127.0.0.SourceAddrs.
func TestDialEach(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const n = 2*SourceAddrs + 3
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	if err := dialEach(n, func(i int) (err error) {
		conns[i], err = dialFrom(ln.Addr().String(), i)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		got := c.LocalAddr().(*net.TCPAddr).IP
		if want := net.IPv4(127, 0, 0, byte(1+i%SourceAddrs)); !got.Equal(want) {
			t.Errorf("connection %d from %v, want %v", i, got, want)
		}
	}
	if err := dialEach(n, func(i int) error {
		if i == 5 {
			return errors.New("refused")
		}
		return nil
	}); err == nil || err.Error() != "connection 5 of 19: refused" {
		t.Errorf("dialEach with connection 5 failing = %v, want that error", err)
	}
}
