package conn_test

import (
	"strings"
	"testing"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// readAll runs in through c with Next and the direct path, and flushes
// Pending; it must not allocate.
func readAll(c *conn.Conn, in []byte, dst []byte) int {
	events := 0
	for {
		if len(in) == 0 {
			break
		}
		e, n, err := c.Next(in)
		if err != nil {
			panic(err)
		}
		in = in[n:]
		if e.Kind != conn.EventNone {
			events++
		}
		if r := c.PayloadRemaining(); r > 0 && r <= int64(len(in)) {
			// The direct path: "read" the payload into dst.
			k := copy(dst, in[:r])
			in = in[r:]
			if _, err := c.ReadPayload(dst[:k]); err != nil {
				panic(err)
			}
			events++
		}
		if n == 0 && e.Kind == conn.EventNone {
			break
		}
	}
	c.Advance(len(c.Pending()))
	return events
}

func TestReadNoAllocs(t *testing.T) {
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			c := mustNew(t, conn.Config{Role: role})
			tmpl := build(role,
				fr{op: frame.OpText, payload: strings.Repeat("héllo ", 200)},
				fr{op: frame.OpBinary, flags: frame.More, payload: strings.Repeat("\x01", 70000)},
				fr{op: frame.OpPing, payload: "ping"},
				fr{op: frame.OpContinuation, payload: "end"},
				fr{op: frame.OpPong, payload: "pong"},
			)
			buf := make([]byte, len(tmpl))
			dst := make([]byte, 80000)
			copy(buf, tmpl)
			if n := readAll(c, buf, dst); n < 5 {
				t.Fatalf("only %d events", n)
			}
			if n := testing.AllocsPerRun(50, func() {
				copy(buf, tmpl)
				readAll(c, buf, dst)
			}); n != 0 {
				t.Errorf("allocs per run = %v, want 0", n)
			}
		})
	}
}

func TestInflateNoAllocs(t *testing.T) {
	c := mustNew(t, conn.Config{Role: conn.Server, AllowedRSV: frame.RSV1, Inflater: &rle{}})
	tmpl := build(conn.Server, fr{op: frame.OpText, flags: frame.RSV1, payload: compress(strings.Repeat("a", 20000) + "é")})
	buf := make([]byte, len(tmpl))
	copy(buf, tmpl)
	readAll(c, buf, nil)
	if n := testing.AllocsPerRun(50, func() {
		copy(buf, tmpl)
		readAll(c, buf, nil)
	}); n != 0 {
		t.Errorf("allocs per run = %v, want 0", n)
	}
}

func TestWriteNoAllocs(t *testing.T) {
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			c := mustNew(t, conn.Config{Role: role})
			payload := []byte(strings.Repeat("x", 4096))
			buf := make([]byte, 0, 3*4096+100)
			write := func() {
				b, err := c.AppendFrame(buf[:0], frame.OpText, 0, payload[:100])
				if err != nil {
					panic(err)
				}
				b, _ = c.AppendFrame(b, frame.OpBinary, frame.More, payload)
				b, _ = c.AppendFrame(b, frame.OpPing, 0, payload[:10])
				b, h, _ := c.AppendHeader(b, frame.OpContinuation, 0, int64(len(payload)))
				start := len(b)
				b = append(b, payload...)
				if h.Masked {
					mask.Apply(h.Key, 0, b[start:])
				}
				if _, err = c.AppendClose(b, frame.CloseNormal, "bye"); err != nil {
					panic(err)
				}
				c.Reset()
			}
			write()
			if raceEnabled {
				return // the race detector's sync.Pool drops the pooled control buffers and masking key sources
			}
			if n := testing.AllocsPerRun(100, write); n != 0 {
				t.Errorf("allocs per run = %v, want 0", n)
			}
		})
	}
}

func TestAutoReplyNoAllocs(t *testing.T) {
	for _, role := range roles {
		c := mustNew(t, conn.Config{Role: role})
		tmpl := build(role, fr{op: frame.OpPing, payload: long125}, fr{op: frame.OpClose, payload: closePayload(frame.CloseNormal, "x")})
		buf := make([]byte, len(tmpl))
		if n := testing.AllocsPerRun(50, func() {
			copy(buf, tmpl)
			readAll(c, buf, nil)
			c.Reset()
		}); n != 0 {
			t.Errorf("%v: allocs per run = %v, want 0", role, n)
		}
	}
}

// TestZeroCopy: data events alias the input buffer, unmasked in place.
func TestZeroCopy(t *testing.T) {
	c := mustNew(t, conn.Config{Role: conn.Server})
	in := build(conn.Server, fr{op: frame.OpBinary, payload: "payload"})
	e, n, err := c.Next(in)
	if err != nil || n != len(in) {
		t.Fatalf("Next = %d, %v", n, err)
	}
	if string(e.Data) != "payload" || &e.Data[0] != &in[len(in)-7] {
		t.Fatalf("Data %q does not alias the input", e.Data)
	}
}
