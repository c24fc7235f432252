package websocket

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// A goroutine server whose echo has no write deadline, against a peer
// that sends and never reads: the reader blocks in the echo's write, so
// it sees no frame, and the heartbeat must end the connection within
// PingInterval + PongTimeout (plus slack), without piling up goroutines
// while the write is stuck.
func TestHostileHeartbeatStuckWriter(t *testing.T) {
	const interval, timeout = 200 * time.Millisecond, 400 * time.Millisecond
	base := runtime.NumGoroutine()
	s := startHostileServer(t, false, &AcceptOptions{Options: Options{PingInterval: interval, PongTimeout: timeout, CloseTimeout: 300 * time.Millisecond}})
	p := dialRaw(t, s.addr(), "")
	msg := wstest.Client(wstest.OpBinary, bytes.Repeat([]byte("m"), 64<<10))
	stop := time.Now().Add(8 * time.Second)
	peak := 0
	var err error
	start := time.Now()
	for time.Now().Before(stop) {
		p.nc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		if _, werr := p.nc.Write(msg); werr != nil && !isTimeoutErr(werr) {
			break // the server ended it
		}
		peak = max(peak, runtime.NumGoroutine()-base)
		select {
		case err = <-s.errs:
		default:
			continue
		}
		break
	}
	took := time.Since(start)
	if err == nil {
		err = s.serverErr(t, 2*time.Second)
	}
	t.Logf("server's connection ended after %v: %v; peak %d goroutines over the base", took.Round(time.Millisecond), err, peak)
	if !errors.Is(err, ErrHeartbeatTimeout) {
		t.Errorf("ended with %v, want ErrHeartbeatTimeout", err)
	}
	if took > 5*(interval+timeout) {
		t.Errorf("the heartbeat took %v to end a connection whose reader is stuck", took)
	}
	if peak > 10 {
		t.Errorf("%d goroutines over the base while the write was stuck", peak)
	}
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
