package websocket

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// committed reports whether a write's error says its message was sent or
// kept (nil or ErrWriteQueued), and fails t on an error that is neither
// that nor a plain timeout.
func committed(t *testing.T, err error) bool {
	t.Helper()
	if err == nil || errors.Is(err, ErrWriteQueued) {
		return true
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write: %v", err)
	}
	return false
}

// TestQueuedMeansCommitted: 20 writes of 1 MiB, each with a 20 ms write
// deadline, to a peer that reads nothing for 500 ms. A write that reports
// nil or ErrWriteQueued must arrive, since the docs tell its caller not to
// send it again. Before, a write that met its deadline while sending the
// bytes an earlier write had left queued reported ErrWriteQueued although
// its own message was never sent (15 of 20 messages lost). Both roles;
// the server writes with WriteMessage, WritePreparedMessage and a
// NextWriter.
func TestQueuedMeansCommitted(t *testing.T) {
	for _, mode := range []string{"client", "message", "prepared", "nextwriter"} {
		t.Run(mode, func(t *testing.T) {
			received := make(chan map[byte]bool, 1)
			sent := make(chan []byte, 1)
			// reader reads until the end and reports the first byte of
			// every message; writer writes the 20 messages and reports
			// those it was told were committed.
			reader := func(c *Conn) {
				time.Sleep(500 * time.Millisecond)
				ids := map[byte]bool{}
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				for {
					_, m, err := c.ReadMessage(nil)
					if err != nil {
						received <- ids
						return
					}
					ids[m[0]] = true
				}
			}
			writer := func(c *Conn) {
				msg := make([]byte, 1<<20)
				var ok []byte
				timeouts := 0
				for i := range byte(20) {
					msg[0] = i
					c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
					var err error
					switch mode {
					case "client", "message":
						err = c.WriteMessage(Binary, msg)
					case "prepared":
						var pm *PreparedMessage
						if pm, err = NewPreparedMessage(Binary, msg); err != nil {
							t.Fatal(err)
						}
						err = c.WritePreparedMessage(pm)
					case "nextwriter":
						w, werr := c.NextWriter(Binary)
						if werr != nil {
							t.Fatal(werr)
						}
						if _, err = w.Write(msg); err == nil {
							err = w.Close()
						} else if cerr := w.Close(); !committed(t, cerr) {
							// Nothing of the message went out: it must
							// not arrive either (its first fragment is
							// what carries msg[0]).
							err = cerr
						}
					}
					if err != nil {
						timeouts++
					}
					if committed(t, err) {
						ok = append(ok, i)
					}
				}
				if timeouts == 0 {
					t.Errorf("no write met its deadline: the test did not test it")
				}
				c.SetWriteDeadline(time.Time{})
				if err := c.Close(CloseNormal, ""); err != nil {
					t.Errorf("close: %v", err)
				}
				sent <- ok
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := Accept(w, r, nil)
				if err != nil {
					return
				}
				defer c.CloseNow()
				if mode == "client" {
					reader(c)
				} else {
					go func() {
						for {
							if _, _, err := c.ReadMessage(nil); err != nil {
								return
							}
						}
					}()
					writer(c)
				}
			}))
			defer srv.Close()
			c, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if mode == "client" {
				writer(c)
			} else {
				reader(c)
			}
			ok, ids := <-sent, <-received
			for _, i := range ok {
				if !ids[i] {
					t.Errorf("message %d was reported committed (nil or ErrWriteQueued) but never arrived", i)
				}
			}
			t.Logf("%d of 20 reported committed, %d arrived", len(ok), len(ids))
		})
	}
}

// TestNextWriterTimeoutEndsMessage: a NextWriter's write meets its
// deadline mid-message. Its Close still ends the message (the final frame
// kept, ErrWriteQueued), so the connection goes on: the next message
// follows, and the peer reads the first one with exactly the bytes Write
// reported written. Before, Close returned the timeout, the message stayed
// open on the wire, and every later data message failed ("data frame while
// a fragmented message is open").
func TestNextWriterTimeoutEndsMessage(t *testing.T) {
	type msg struct {
		data []byte
		err  error
	}
	got := make(chan msg, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		time.Sleep(500 * time.Millisecond)
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			_, m, err := c.ReadMessage(nil)
			got <- msg{m, err}
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	w, err := c.NextWriter(Binary)
	if err != nil {
		t.Fatal(err)
	}
	piece := bytes.Repeat([]byte("a"), 64<<10)
	written := 0
	var werr error
	for i := 0; i < 400 && werr == nil; i++ {
		var n int
		n, werr = w.Write(piece)
		written += n
	}
	if !errors.Is(werr, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past the deadline: %v after %d bytes, want a timeout", werr, written)
	}
	if err := w.Close(); err != nil && !errors.Is(err, ErrWriteQueued) {
		t.Fatalf("Close of the writer: %v, want nil or ErrWriteQueued", err)
	}
	c.SetWriteDeadline(time.Time{})
	if err := c.WriteMessage(Text, []byte("next")); err != nil {
		t.Fatalf("the next message: %v", err)
	}
	first := <-got
	if first.err != nil || len(first.data) != written || !bytes.Equal(first.data, bytes.Repeat([]byte("a"), written)) {
		t.Fatalf("first message: %d bytes, %v; want the %d bytes written", len(first.data), first.err, written)
	}
	if next := <-got; next.err != nil || string(next.data) != "next" {
		t.Fatalf("second message: %q, %v; want \"next\"", next.data, next.err)
	}
	if err := c.Close(CloseNormal, ""); err != nil {
		t.Errorf("close: %v", err)
	}
}
