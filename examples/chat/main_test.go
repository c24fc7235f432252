package main

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	websocket "github.com/hybi/websocket"
)

// Three members chat: each line reaches everyone, in order; a wrong token,
// an unknown room and a missing name are refused with their status before
// any connection exists; a member leaving is announced.
func TestChat(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// run returns after Loop.Shutdown, when no OnClose runs any more;
	// on an early error it returns after Loop.Close, which does not wait
	// for them, and t.Logf after the test panics: the log ends with the
	// test.
	var logMu sync.Mutex
	ended := false
	t.Cleanup(func() { logMu.Lock(); ended = true; logMu.Unlock() })
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		if !ended {
			t.Logf(format, args...)
		}
	}
	go func() { done <- run(ctx, ln, "s3cret", logf) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	base := "ws://" + ln.Addr().String()
	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for target, status := range map[string]int{
		"/chat?token=wrong&name=eve":   401,
		"/lobby?token=s3cret&name=eve": 404,
		"/chat?token=s3cret":           400,
	} {
		_, _, err := websocket.Dial(dctx, base+target, nil)
		var re *websocket.ResponseError
		if !errors.As(err, &re) || re.StatusCode != status {
			t.Errorf("%s: %v, want a %d refusal", target, err, status)
		}
	}

	names := []string{"ann", "bob", "cy"}
	var members []*websocket.Conn
	for i, n := range names {
		c, _, err := websocket.Dial(dctx, base+"/chat?token=s3cret&name="+n, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		members = append(members, c)
		// Everyone already in sees the newcomer join, in order.
		for _, m := range members[:i+1] {
			expect(t, m, n+" joined")
		}
	}
	// Lines from different members may be read by different pollers, so
	// the room orders them as they arrive: bob answers once he has read
	// ann's line, and then everyone sees hers before his.
	if err := members[0].WriteMessage(websocket.Text, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	expect(t, members[1], "ann: hello")
	if err := members[1].WriteMessage(websocket.Text, []byte("hi ann")); err != nil {
		t.Fatal(err)
	}
	for i, m := range members {
		if i != 1 {
			expect(t, m, "ann: hello")
		}
		expect(t, m, "bob: hi ann")
	}
	if err := members[2].Close(websocket.CloseNormal, "bye"); err != nil {
		t.Fatal(err)
	}
	for _, m := range members[:2] {
		expect(t, m, "cy left")
	}
	// Stopping the server closes the members left with 1001 (going away),
	// after any lines still on their way.
	stop()
	for _, m := range members[:2] {
		var err error
		for err == nil {
			_, _, err = m.ReadMessage(nil)
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Initiator != websocket.Peer || ce.Code != websocket.CloseGoingAway {
			t.Errorf("at shutdown a member got %v, want the server's 1001", err)
		}
	}
}

func expect(t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	_, p, err := c.ReadMessage(nil)
	if err != nil || string(p) != want {
		t.Fatalf("got %q, %v; want %q", p, err, want)
	}
}
