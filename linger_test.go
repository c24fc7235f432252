package websocket

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTooBigSeenBySender: a client writes 4 MiB to a server whose limit
// is 1 MiB, with a reader running. The server fails the connection with
// 1009 while most of the message is still on its way; it must not close
// the socket with those bytes unread, since the kernel then sends a reset
// that can destroy the Close frame before the client reads it (before,
// the client saw "connection reset by peer" in 7-8 of 20 connections
// instead of 1009). The server's read still ends as soon as the client
// closes, far from its CloseTimeout.
func TestTooBigSeenBySender(t *testing.T) {
	const closeTimeout = 10 * time.Second
	ended := make(chan time.Duration, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, &AcceptOptions{Options: Options{MaxMessageSize: 1 << 20, CloseTimeout: closeTimeout}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		start := time.Now()
		_, _, err = c.ReadMessage(nil)
		if CloseStatus(err) != CloseMessageTooBig {
			t.Errorf("server: %v, want 1009", err)
		}
		ended <- time.Since(start)
	}))
	defer srv.Close()
	sendTooBig(t, srv.URL, func() {
		if d := <-ended; d >= closeTimeout {
			t.Errorf("the server's read ended after %v, its CloseTimeout: it waited for a client that had closed", d)
		}
	})
}

// sendTooBig dials url 20 times, writes 4 MiB with a reader running, and
// fails t unless every client reads the server's 1009; after each
// connection it calls after.
func sendTooBig(t *testing.T, url string, after func()) {
	t.Helper()
	missed := 0
	for range 20 {
		c, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(url, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		rerr := make(chan error, 1)
		go func() { _, _, err := c.ReadMessage(nil); rerr <- err }()
		c.WriteMessage(Binary, make([]byte, 4<<20))
		if err := <-rerr; CloseStatus(err) != CloseMessageTooBig {
			missed++
			t.Log(err)
		}
		c.CloseNow()
		after()
	}
	if missed > 0 {
		t.Errorf("the client missed the server's 1009 in %d of 20 connections", missed)
	}
}

// TestTooBigSeenBySenderLoop: the same on a Loop, whose poller reads the
// oversized message and ends the connection on a goroutine of its own,
// which lingers on the raw socket (lingerFD). Before, the client saw a
// reset in 7 of 20 connections.
func TestTooBigSeenBySenderLoop(t *testing.T) {
	ended := make(chan error, 1)
	l, err := NewLoop(&LoopOptions{
		OnMessage: func(*Conn, MessageType, []byte) {},
		OnClose:   func(c *Conn, err error) { ended <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, &AcceptOptions{Options: Options{MaxMessageSize: 1 << 20}})
		if err != nil {
			return
		}
		if err := l.Add(c); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	sendTooBig(t, srv.URL, func() {
		if err := <-ended; CloseStatus(err) != CloseMessageTooBig {
			t.Errorf("server: %v, want 1009", err)
		}
	})
}
