package websocket

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// recConn records what is written to it.
type recConn struct {
	net.Conn // nil: only Write, Close and the deadline setters are used
	mu       sync.Mutex
	b        bytes.Buffer
}

func (r *recConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.Write(p)
}
func (r *recConn) Close() error                     { return nil }
func (r *recConn) SetWriteDeadline(time.Time) error { return nil }
func (r *recConn) SetReadDeadline(time.Time) error  { return nil }
func (r *recConn) SetDeadline(time.Time) error      { return nil }
func (r *recConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (r *recConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (r *recConn) take() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := bytes.Clone(r.b.Bytes())
	r.b.Reset()
	return b
}
func (r *recConn) reset() { r.mu.Lock(); r.b.Reset(); r.mu.Unlock() }

// unmaskFrames parses the frames in b and returns them with the masking
// undone and the key cleared, so that a client's frames can be compared
// with a server's.
func unmaskFrames(t *testing.T, b []byte) []byte {
	t.Helper()
	var out []byte
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		p := bytes.Clone(b[n : n+int(h.Length)])
		if h.Masked {
			mask.Apply(h.Key, 0, p)
		}
		h.Key = mask.Key{}
		out = frame.AppendFrame(out, h, p)
		b = b[n+int(h.Length):]
	}
	return out
}

// preparedKinds are the kinds of connection a PreparedMessage has forms for.
var preparedKinds = []struct {
	name   string
	client bool
	params *deflate.Params
	level  int
}{
	{"server", false, nil, 0},
	{"client", true, nil, 0},
	{"server-deflate-notakeover", false, &deflate.Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, 0},
	{"server-deflate-notakeover-level9", false, &deflate.Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, 9},
	{"server-deflate-notakeover-bits10", false, &deflate.Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 10, ClientMaxWindowBits: 15}, 0},
	{"server-deflate-takeover", false, &deflate.Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, 0},
	{"server-deflate-takeover-bits9", false, &deflate.Params{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}, 0},
	{"client-deflate-notakeover", true, &deflate.Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, 0},
	{"client-deflate-notakeover-bits8", true, &deflate.Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 8}, 0},
	{"client-deflate-takeover", true, &deflate.Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, 0},
}

func recPair(t *testing.T, client bool, params *deflate.Params, level int) (*Conn, *recConn) {
	t.Helper()
	rc := new(recConn)
	c, err := newConn(rc, client, nil, &Options{Compression: params != nil, CompressionLevel: level}, "", params)
	if err != nil {
		t.Fatal(err)
	}
	return c, rc
}

// TestPreparedMessageBytes: on every kind of connection, a sequence of
// prepared messages puts on the wire exactly what WriteMessage puts there
// for the same messages (client frames compared after unmasking), also
// when the messages interleave with WriteMessage (context takeover).
func TestPreparedMessageBytes(t *testing.T) {
	msgs := []struct {
		typ  MessageType
		data []byte
	}{
		{Text, []byte("short")},
		{Text, []byte(strings.Repeat("a prepared message to many connections ", 40))},
		{Binary, bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 2000)},
		{Text, []byte(strings.Repeat("a prepared message to many connections ", 40))},
		{Binary, nil},
		{Binary, bytes.Repeat([]byte("xyz"), 400000)}, // over maxWrite
	}
	pms := make([]*PreparedMessage, len(msgs))
	for i, m := range msgs {
		var err error
		if pms[i], err = NewPreparedMessage(m.typ, m.data); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range preparedKinds {
		t.Run(k.name, func(t *testing.T) {
			a, ra := recPair(t, k.client, k.params, k.level)
			b, rb := recPair(t, k.client, k.params, k.level)
			for round := 0; round < 2; round++ { // the second round uses the cached forms
				for i, m := range msgs {
					if err := a.WriteMessage(m.typ, m.data); err != nil {
						t.Fatal(err)
					}
					if err := b.WritePreparedMessage(pms[i]); err != nil {
						t.Fatal(err)
					}
					want, got := ra.take(), rb.take()
					if k.client {
						if bytes.Equal(want, got) && len(want) > 2 {
							t.Errorf("message %d: client frames share their mask key", i)
						}
						want, got = unmaskFrames(t, want), unmaskFrames(t, got)
					}
					if !bytes.Equal(want, got) {
						t.Fatalf("round %d message %d: prepared frame (%d bytes) differs from WriteMessage's (%d bytes)", round, i, len(got), len(want))
					}
				}
			}
		})
	}
}

func TestPreparedMessageErrors(t *testing.T) {
	if _, err := NewPreparedMessage(Text, []byte{0xff}); err != ErrInvalidText {
		t.Errorf("invalid text: %v, want ErrInvalidText", err)
	}
	if _, err := NewPreparedMessage(MessageType(9), nil); err == nil {
		t.Error("message type 9 accepted")
	}
	c, _ := recPair(t, false, nil, 0)
	if err := c.WritePreparedMessage(nil); err == nil {
		t.Error("nil PreparedMessage accepted")
	}
	pm, _ := NewPreparedMessage(Text, []byte("x"))
	c.CloseNow()
	if err := c.WritePreparedMessage(pm); err == nil {
		t.Error("write after CloseNow succeeded")
	}
}

// TestPreparedMessageConcurrent: many goroutines write one
// PreparedMessage to connections of every kind at once (forms are made
// concurrently); every connection's wire holds the expected frames.
func TestPreparedMessageConcurrent(t *testing.T) {
	data := []byte(strings.Repeat("concurrent prepared ", 50))
	pm, err := NewPreparedMessage(Text, data)
	if err != nil {
		t.Fatal(err)
	}
	const perKind, writes = 4, 20
	type target struct {
		c      *Conn
		rc     *recConn
		client bool
		want   []byte
	}
	var targets []*target
	for _, k := range preparedKinds {
		ref, rref := recPair(t, k.client, k.params, k.level)
		for range writes {
			if err := ref.WriteMessage(Text, data); err != nil {
				t.Fatal(err)
			}
		}
		want := rref.take()
		if k.client {
			want = unmaskFrames(t, want)
		}
		for range perKind {
			c, rc := recPair(t, k.client, k.params, k.level)
			targets = append(targets, &target{c, rc, k.client, want})
		}
	}
	var wg sync.WaitGroup
	for _, tg := range targets {
		for range 2 { // two goroutines per connection
			wg.Go(func() {
				for range writes / 2 {
					if err := tg.c.WritePreparedMessage(pm); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	for i, tg := range targets {
		got := tg.rc.take()
		if tg.client {
			got = unmaskFrames(t, got)
		}
		if !bytes.Equal(got, tg.want) {
			t.Errorf("target %d: %d bytes on the wire, want %d identical", i, len(got), len(tg.want))
		}
	}
}

// TestPreparedMessageAllocs: in steady state a prepared write allocates
// nothing, for each kind of connection.
func TestPreparedMessageAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	for _, size := range []int{64, 4000, 100 << 10} {
		pm, err := NewPreparedMessage(Binary, bytes.Repeat([]byte("abcd"), size/4))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range preparedKinds {
			if k.params != nil && !k.params.CompressorResets(!k.client) {
				continue // compressed per connection: WriteMessage's own figures
			}
			t.Run(fmt.Sprintf("%s/%d", k.name, size), func(t *testing.T) {
				c, rc := recPair(t, k.client, k.params, k.level)
				f := func() {
					if err := c.WritePreparedMessage(pm); err != nil {
						t.Fatal(err)
					}
					rc.reset()
				}
				f()
				if got := testing.AllocsPerRun(50, f); got != 0 {
					t.Errorf("%v allocs per write, want 0", got)
				}
			})
		}
	}
}

// TestPreparedMessageRoundTrip: over loopback TCP with negotiated
// compression, the peer reads back the prepared messages.
func TestPreparedMessageRoundTrip(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compression=", compress), func(t *testing.T) {
			msgs := []string{"hello", strings.Repeat("broadcast ", 100), ""}
			var pms []*PreparedMessage
			for _, m := range msgs {
				pm, err := NewPreparedMessage(Text, []byte(m))
				if err != nil {
					t.Fatal(err)
				}
				pms = append(pms, pm)
			}
			url := serve(t, &AcceptOptions{Options: Options{Compression: compress}}, func(c *Conn) {
				for _, pm := range pms {
					if err := c.WritePreparedMessage(pm); err != nil {
						t.Error(err)
						return
					}
				}
				c.ReadMessage(nil) // until the client closes
			})
			c := dial(t, url, &DialOptions{Options: Options{Compression: compress}, Proxy: NoProxy})
			for i, m := range msgs {
				typ, b, err := c.ReadMessage(nil)
				if err != nil || typ != Text || string(b) != m {
					t.Fatalf("message %d: %v %q %v, want %q", i, typ, b, err, m)
				}
			}
			c.CloseNow()
		})
	}
}

// BenchmarkBroadcastCompressed: one 4 KiB text message to 100 server
// connections with permessage-deflate (no context takeover): prepared
// (compressed once) against WriteMessage (compressed per connection).
func BenchmarkBroadcastCompressed(b *testing.B) {
	params := &deflate.Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
	data := []byte(strings.Repeat(`{"event":"tick","symbol":"HYBI","price":12.5} `, 90))[:4096]
	const n = 100
	var conns []*Conn
	var recs []*recConn
	for range n {
		rc := new(recConn)
		c, err := newConn(rc, false, nil, &Options{Compression: true}, "", params)
		if err != nil {
			b.Fatal(err)
		}
		conns, recs = append(conns, c), append(recs, rc)
	}
	reset := func() {
		for _, rc := range recs {
			rc.reset()
		}
	}
	b.Run("per-connection", func(b *testing.B) {
		for b.Loop() {
			for _, c := range conns {
				if err := c.WriteMessage(Text, data); err != nil {
					b.Fatal(err)
				}
			}
			reset()
		}
	})
	b.Run("prepared", func(b *testing.B) {
		for b.Loop() {
			pm, err := NewPreparedMessage(Text, data)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range conns {
				if err := c.WritePreparedMessage(pm); err != nil {
					b.Fatal(err)
				}
			}
			reset()
		}
	})
}
