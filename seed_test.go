package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/internal/wstest"
	"github.com/hybi/websocket/mask"
)

// The seed problem: a server pushes messages at irregular intervals with
// idle gaps of seconds; the client reads with a 500 ms read deadline. In
// the failing system every timeout killed the connection. Here every
// timeout is an ordinary error, the client keeps reading, every message
// arrives intact and in order, and the connection stays open.

const seedDeadline = 500 * time.Millisecond

type push struct {
	gap time.Duration // idle time before the message
	typ MessageType
	msg string
}

func seedMessages() []push {
	m := []push{
		{0, Text, "hello"},
		{30 * time.Millisecond, Text, "price update ✓"},
		{1200 * time.Millisecond, Binary, strings.Repeat("\x00\x01\x02", 30000)}, // 90 KB
		{5 * time.Millisecond, Text, "après une pause"},
		{0, Text, ""},
		{2100 * time.Millisecond, Text, strings.Repeat("é", 40000)}, // 80 KB of 2-byte runes
		{300 * time.Millisecond, Binary, "tail"},
	}
	// Thirteen more, so that the connection is still open after 20 pushes:
	// bursts, gaps just over the read deadline, sizes across the frame
	// length encodings.
	for i := range 13 {
		gap := []time.Duration{0, 600 * time.Millisecond, 10 * time.Millisecond}[i%3]
		size := []int{1, 125, 126, 65535, 65536}[i%5]
		m = append(m, push{gap, Binary, strings.Repeat(string(rune('a'+i)), size)})
	}
	return m
}

// readPushed reads len(want) messages with a fresh 500 ms deadline before
// each read, treating timeouts as "nothing yet". It returns the number of
// timeouts seen.
func readPushed(t *testing.T, c *Conn, want []push, useNextReader bool) int {
	t.Helper()
	timeouts := 0
	var buf []byte
	for i := 0; i < len(want); {
		c.SetReadDeadline(time.Now().Add(seedDeadline))
		var typ MessageType
		var msg []byte
		var err error
		if useNextReader {
			var r io.Reader
			typ, r, err = c.NextReader()
			if err == nil {
				msg, err = readAllResuming(c, r, &timeouts)
			}
		} else {
			typ, msg, err = c.ReadMessage(buf)
			buf = msg
		}
		if err != nil {
			var ne net.Error
			if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("message %d: %v (the connection must survive timeouts)", i, err)
			}
			timeouts++
			continue
		}
		if typ != want[i].typ || string(msg) != want[i].msg {
			t.Fatalf("message %d: got %v %d bytes, want %v %d bytes", i, typ, len(msg), want[i].typ, len(want[i].msg))
		}
		i++
	}
	return timeouts
}

// readAllResuming reads r to EOF, renewing the deadline after timeouts.
func readAllResuming(c *Conn, r io.Reader, timeouts *int) ([]byte, error) {
	var out []byte
	buf := make([]byte, 3000)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		switch {
		case err == io.EOF:
			return out, nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			*timeouts++
			c.SetReadDeadline(time.Now().Add(seedDeadline))
		case err != nil:
			return out, err
		}
	}
}

// TestSeedScenario runs the seed scenario over ws and over wss (an
// httptest TLS server with a self-signed certificate, and Dial with that
// certificate in its RootCAs), with the server's Accept.
func TestSeedScenario(t *testing.T) {
	t.Parallel()
	for _, tr := range testTransports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			msgs := seedMessages()
			url := tr.serveHTTP(t, nil, func(c *Conn) {
				for _, m := range msgs {
					time.Sleep(m.gap)
					if err := c.WriteMessage(m.typ, []byte(m.msg)); err != nil {
						t.Errorf("push: %v", err)
						return
					}
				}
				// Wait for the client's Close, answering it.
				readUntilError(c)
			})
			c := tr.dial(t, url, nil)
			timeouts := readPushed(t, c, msgs, false)
			if timeouts == 0 {
				t.Error("no read timed out: the idle gaps did not exercise the deadline")
			}
			t.Logf("%d pushes received, %d timeouts survived", len(msgs), timeouts)
			// Still open: a normal closing handshake completes.
			c.SetReadDeadline(time.Time{})
			if err := c.Close(frame.CloseNormal, "done"); err != nil {
				t.Fatalf("Close after the scenario: %v", err)
			}
		})
	}
}

// The same stream written one byte per TCP write (over TLS: one byte per
// record) by a raw server, with idle
// gaps longer than the read deadline placed mid-header, mid-payload,
// between fragments and inside a 2-byte UTF-8 sequence, so that reads time
// out at each of those points and must resume exactly there.
func TestSeedScenarioByteAtATime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tr testTransport
		nr bool
	}{{testTransports[0], false}, {testTransports[0], true}, {testTransports[1], false}, {testTransports[1], true}} {
		tr, nr := tc.tr, tc.nr
		name := tr.name + "/ReadMessage"
		if nr {
			name = tr.name + "/NextReader"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pause := seedDeadline + 200*time.Millisecond
			type chunk struct {
				b     []byte
				pause int // pause after this many bytes of b (-1: none)
			}
			e := []byte("xé") // 'x', 0xC3, 0xA9
			frag1 := wstest.Frame(wstest.OpText, false, [4]byte{}, []byte("frag-"))
			frag2 := wstest.Server(wstest.OpContinuation, []byte("mented"))
			chunks := []chunk{
				{wstest.Server(wstest.OpText, []byte("first")), 1},                  // mid-header
				{wstest.Server(wstest.OpBinary, bytes.Repeat([]byte{7}, 300)), 100}, // mid-payload
				{wstest.Server(wstest.OpText, e), 4},                                // between 0xC3 and 0xA9
				{frag1, -1},
				{wstest.Server(wstest.OpPing, []byte("hb")), 0}, // between fragments, before a ping
				{frag2, -1},
				{wstest.Server(wstest.OpText, []byte("last")), -1},
			}
			want := []push{
				{typ: Text, msg: "first"},
				{typ: Binary, msg: string(bytes.Repeat([]byte{7}, 300))},
				{typ: Text, msg: string(e)},
				{typ: Text, msg: "frag-mented"},
				{typ: Text, msg: "last"},
			}
			done := make(chan struct{})
			url := tr.rawServe(t, func(nc net.Conn, br *bufio.Reader) {
				for _, ch := range chunks {
					for i := range ch.b {
						if i == ch.pause {
							time.Sleep(pause)
						}
						if _, err := nc.Write(ch.b[i : i+1]); err != nil {
							t.Errorf("raw write: %v", err)
							return
						}
					}
				}
				// The interleaved Ping was answered with its payload.
				h, err := frame.NewReader(br).ReadHeader()
				if err != nil {
					t.Errorf("reading the pong: %v", err)
					return
				}
				p := make([]byte, h.Length)
				io.ReadFull(br, p)
				mask.Apply(h.Key, 0, p)
				if h.Opcode != frame.OpPong || string(p) != "hb" || !h.Masked {
					t.Errorf("got %v %q (masked %v), want a masked pong \"hb\"", h.Opcode, p, h.Masked)
				}
				<-done
			})
			c := tr.dial(t, url, nil)
			timeouts := readPushed(t, c, want, nr)
			close(done)
			if timeouts < 4 {
				t.Errorf("%d timeouts, want at least 4 (one per pause)", timeouts)
			}
		})
	}
}
