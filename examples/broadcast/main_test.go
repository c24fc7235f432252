package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	websocket "github.com/hybi/websocket"
)

// logLines collects the server's log lines for the test to check.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logLines) matching(sub string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m []string
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			m = append(m, s)
		}
	}
	return m
}

// waitFor polls cond for at most 5 s.
func waitFor(cond func() bool) bool {
	for range 500 {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// Twenty clients join, each sends ten messages and reads everyone's: none
// is lost or reordered per sender. Each leaves with its own reason, which
// the server logs with code 1000 and the client as initiator, and the
// goroutines of the clients and their handlers are gone afterwards. Then
// five more join and the server stops: each gets a clean 1001 from it.
func TestBroadcast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var log logLines
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, log.logf) }()
	defer func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("run did not return")
		}
	}()
	url := "ws://" + ln.Addr().String() + "/ws"
	dctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	time.Sleep(10 * time.Millisecond) // let Serve start its goroutine
	base := runtime.NumGoroutine()

	const clients, each = 20, 10
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		c, _, err := websocket.Dial(dctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		conns[i] = c
	}
	// A client is in the hub once its handler has joined it, shortly
	// after its Dial returns: it is there when it receives its own hello,
	// which its handler broadcast after joining.
	for i, c := range conns {
		hello := fmt.Sprintf("hello %d", i)
		c.WriteMessage(websocket.Text, []byte(hello))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, msg, err := c.ReadMessage(nil)
			if err != nil {
				t.Fatalf("client %d waiting for its hello: %v", i, err)
			}
			if string(msg) == hello {
				break
			}
		}
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(15 * time.Second))
			next := make([]int, clients) // the next message expected from each sender
			for got := 0; got < clients*each; {
				_, msg, err := c.ReadMessage(nil)
				if err != nil {
					t.Errorf("client %d: %v after %d messages", i, err, got)
					return
				}
				if strings.HasPrefix(string(msg), "hello ") {
					continue // a later client's hello
				}
				var from, n int
				if _, err := fmt.Sscanf(string(msg), "%d:%d", &from, &n); err != nil || from < 0 || from >= clients {
					t.Errorf("client %d: unexpected message %q", i, msg)
					return
				}
				if n != next[from] {
					t.Errorf("client %d: got %d:%d, want %d:%d", i, from, n, from, next[from])
					return
				}
				next[from]++
				got++
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				if err := c.WriteMessage(websocket.Text, fmt.Appendf(nil, "%d:%d", i, j)); err != nil {
					t.Errorf("client %d write: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, c := range conns {
		if err := c.Close(websocket.CloseNormal, fmt.Sprintf("bye from %d", i)); err != nil {
			t.Errorf("client %d close: %v", i, err)
		}
	}
	if !waitFor(func() bool { return len(log.matching(" left: ")) == clients }) {
		t.Fatalf("the server logged %d ends, want %d: %q", len(log.matching(" left: ")), clients, log.matching(""))
	}
	for i := range clients {
		want := fmt.Sprintf("left: closed by peer with 1000 \"bye from %d\"", i)
		if !slices.ContainsFunc(log.matching(" left: "), func(s string) bool { return strings.HasSuffix(s, want) }) {
			t.Errorf("no log line ends with %s", want)
		}
	}
	if !waitFor(func() bool { return runtime.NumGoroutine() <= base }) {
		buf := make([]byte, 64<<10)
		t.Errorf("%d goroutines after everyone left, %d before they came:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
	}
	if d := log.matching("dropped"); len(d) > 0 {
		t.Errorf("the hub dropped clients: %q", d)
	}

	// The server stops while five clients are connected.
	ends := make(chan error, 5)
	for range 5 {
		c, _, err := websocket.Dial(dctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		go func() {
			_, _, err := c.ReadMessage(nil)
			ends <- err
		}()
	}
	stop()
	for range 5 {
		select {
		case err := <-ends:
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Initiator != websocket.Peer || ce.Err != nil {
				t.Errorf("a client saw the stop as %v, want a clean 1001 from the server", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a client was not closed by the stop")
		}
	}
}
