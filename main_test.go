package websocket

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when goroutines started by the tests (connection
// helpers, heartbeat timers, servers) are still alive after a bounded grace
// period: every close path must release everything it started.
func TestMain(m *testing.M) {
	before := interestingGoroutines()
	code := m.Run()
	if code == 0 {
		if leaked := waitForLeaks(before, 5*time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// interestingGoroutines returns the stacks of all goroutines except the
// runtime's and the test framework's own, keyed by their first frame.
func interestingGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		sl := strings.SplitN(g, "\n", 2)
		if len(sl) != 2 {
			continue
		}
		stack := strings.TrimSpace(sl[1])
		if stack == "" ||
			strings.Contains(stack, "testing.(*M).") ||
			strings.Contains(stack, "testing.Main(") ||
			strings.Contains(stack, "os/signal.signal_recv") ||
			strings.Contains(stack, "interestingGoroutines") ||
			strings.Contains(stack, "runtime.ensureSigM") {
			continue
		}
		out = append(out, stack)
	}
	sort.Strings(out)
	return out
}

// waitForLeaks polls until no goroutine beyond those in before remains or
// the grace period ends, and returns the leftovers.
func waitForLeaks(before []string, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		leaked := diffStacks(before, interestingGoroutines())
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func diffStacks(before, after []string) []string {
	seen := make(map[string]int)
	for _, s := range before {
		seen[firstFunc(s)]++
	}
	var out []string
	for _, s := range after {
		k := firstFunc(s)
		if seen[k] > 0 {
			seen[k]--
			continue
		}
		out = append(out, s)
	}
	return out
}

// firstFunc is the function line of the top frame of a stack.
func firstFunc(stack string) string {
	line, _, _ := strings.Cut(stack, "\n")
	return line
}

// listen returns a loopback TCP listener closed at the end of the test.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// tcpPair returns two ends of a loopback TCP connection, both closed at the
// end of the test.
func tcpPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln := listen(t)
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		c.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() { c.Close(); r.c.Close() })
	return c.(*net.TCPConn), r.c.(*net.TCPConn)
}

// acceptOne runs script on the first connection ln accepts (closing it
// afterwards) and returns ln's address; the test closes ln and waits for
// script at cleanup.
func acceptOne(t testing.TB, ln net.Listener, script func(nc net.Conn)) string {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		script(nc)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// serve accepts one connection on a loopback listener, upgrades it with
// Upgrade and runs handler on it; the returned URL dials it. The test
// waits for handler to return at cleanup.
func serve(t testing.TB, opts *AcceptOptions, handler func(*Conn)) string {
	t.Helper()
	return "ws://" + acceptOne(t, listen(t), func(nc net.Conn) {
		c, err := Upgrade(nc, nil, opts)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		handler(c)
		c.CloseNow()
	}) + "/"
}

// dial connects to url and closes the connection at cleanup.
func dial(t testing.TB, url string, opts *DialOptions) *Conn {
	t.Helper()
	return testTransports[0].dial(t, url, opts)
}

// echo is a handler that echoes messages until the connection ends.
func echo(c *Conn) {
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(buf)
		if err != nil {
			return
		}
		buf = msg
		if err := c.WriteMessage(typ, msg); err != nil {
			return
		}
	}
}

// connPair returns a client and a server Conn over loopback TCP, skipping
// the opening handshake.
func connPair(t testing.TB, copts, sopts *Options) (client, server *Conn) {
	t.Helper()
	return testTransports[0].connPair(t, copts, sopts, nil)
}

// rawServe accepts one connection, performs the server handshake with
// package handshake and hands the raw connection to script, so tests can
// put arbitrary bytes on the wire.
func rawServe(t testing.TB, script func(nc net.Conn, br *bufio.Reader)) string {
	t.Helper()
	return testTransports[0].rawServe(t, script)
}
