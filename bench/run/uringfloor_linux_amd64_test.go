package run

import (
	"bytes"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// waitFor polls cond for up to 10 s.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestUringFloorInProcess runs the tcp-uring floor in this process: it
// echoes, sends all of a write the socket takes in parts (a 16 MiB frame
// to a client that reads late: a send that ended short would post a
// completion and close the connection), closes a connection whose client
// hung up, and Close closes every connection and leaves no goroutine and
// no descriptor behind (the rings, the eventfds, the sockets).
func TestUringFloorInProcess(t *testing.T) {
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := serveUringBusy(ln)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	defer s.Close()
	const conns = 6
	cs, _, err := openScale(ln.Addr().String(), conns)
	if err != nil {
		t.Fatal(err)
	}
	defer closeScale(cs)
	for i, c := range cs {
		c.floor = true
		c.nc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.roundTrip(maskedFrame(Payload(16, false)), 16); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	// A late reader: the server's socket cannot take 16 MiB at once.
	big := maskedFrame(Payload(16<<20, false))
	errc := make(chan error, 1)
	go func() {
		_, err := cs[0].nc.Write(big)
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	got := make([]byte, len(big))
	if _, err := io.ReadFull(cs[0].br, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("the 16 MiB echo differs from the frame sent")
	}
	if n := s.Conns(); n != conns {
		t.Fatalf("after the 16 MiB echo the server holds %d connections, want %d", n, conns)
	}
	// A client that hangs up is closed by the server.
	cs[1].nc.Close()
	cs[1] = nil
	if !waitFor(func() bool { return s.Conns() == conns-1 }) {
		t.Errorf("after a client hung up the server holds %d connections, want %d", s.Conns(), conns-1)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s")
	}
	// Every other client sees its connection closed.
	for i, c := range cs {
		if c == nil {
			continue
		}
		c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := c.br.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("connection %d after Close: read %d bytes, %v; want EOF", i, n, err)
		}
	}
	closeScale(cs)
	if s.Conns() != 0 {
		t.Errorf("after Close the server counts %d connections", s.Conns())
	}
	if !waitFor(func() bool { return runtime.NumGoroutine() <= g0 && openFDs(t) <= fd0 }) {
		t.Errorf("after Close %d goroutines and %d descriptors, %d and %d before", runtime.NumGoroutine(), openFDs(t), g0, fd0)
	}
}

// TestUringFloorOffered: where a ring can be set up (this test sets one up
// itself), tcp-uring is a floor of the busy tables; where none can, it is
// not, so that a run on such a machine goes on without it.
func TestUringFloorOffered(t *testing.T) {
	r, err := newUring(8, 16)
	if err == nil {
		r.close()
	}
	if got, want := IsBusyFloor("tcp-uring"), err == nil; got != want {
		t.Errorf("tcp-uring offered = %v, but setting up a ring gave %v", got, err)
	}
}
