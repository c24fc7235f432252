package conn_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	stdutf8 "unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// fr describes a frame the peer sends.
type fr struct {
	op      frame.Opcode
	flags   frame.Flags // RSV bits and More; masking follows the sender's role
	payload string
	badMask bool // violate the masking rule of the sender's role
}

// build encodes frames as the peer of a Conn with role would send them:
// masked towards a server, unmasked towards a client (RFC 6455 §5.1).
func build(role conn.Role, frames ...fr) []byte {
	var b []byte
	for i, f := range frames {
		flags := f.flags
		masked := role == conn.Server
		if f.badMask {
			masked = !masked
		}
		key := mask.Key{0x37, 0xfa, 0x21, byte(i + 0x3d)}
		if masked {
			flags |= frame.Mask
		}
		b = frame.AppendFrame(b, frame.NewHeader(f.op, flags, key, 0), []byte(f.payload))
	}
	return b
}

// ev is an Event in comparable form; data chunks of a message are merged.
type ev struct {
	Kind   conn.EventKind
	Opcode frame.Opcode
	Final  bool
	RSV    frame.Flags
	Data   string
	Code   frame.CloseCode
}

// out is a frame found in Pending, unmasked.
type out struct {
	Opcode  frame.Opcode
	Payload string
}

type result struct {
	Events    []ev
	Err       string
	Out       []out
	State     conn.State
	Initiator conn.Initiator
}

// collector merges data events and checks the First/Final invariants.
type collector struct {
	t      *testing.T
	events []ev
	data   [][]byte // merged data of events[i] (EventData only)
	inMsg  bool     // a message's first chunk was seen, its final not yet
}

func (col *collector) add(e conn.Event) {
	t := col.t
	t.Helper()
	if e.Kind == conn.EventNone {
		if e.Data != nil || e.Final || e.First {
			t.Fatalf("EventNone with fields set: %+v", e)
		}
		return
	}
	if e.Kind != conn.EventData {
		col.events = append(col.events, ev{Kind: e.Kind, Opcode: e.Opcode, RSV: e.RSV, Data: string(e.Data), Code: e.Code})
		col.data = append(col.data, nil)
		return
	}
	if e.First == col.inMsg {
		t.Fatalf("data event First=%v while a message in progress=%v", e.First, col.inMsg)
	}
	if len(e.Data) == 0 && !e.Final {
		t.Fatalf("empty data event that is not Final: %+v", e)
	}
	if e.Opcode != frame.OpText && e.Opcode != frame.OpBinary {
		t.Fatalf("data event with opcode %v", e.Opcode)
	}
	n := len(col.events)
	if !e.First && n > 0 && col.events[n-1].Kind == conn.EventData && !col.events[n-1].Final {
		last := &col.events[n-1]
		if last.Opcode != e.Opcode {
			t.Fatalf("opcode changed within a message: %v then %v", last.Opcode, e.Opcode)
		}
		col.data[n-1] = append(col.data[n-1], e.Data...)
		last.Final = e.Final
		last.RSV |= e.RSV
	} else {
		col.events = append(col.events, ev{Kind: e.Kind, Opcode: e.Opcode, Final: e.Final, RSV: e.RSV})
		col.data = append(col.data, append([]byte(nil), e.Data...))
	}
	col.inMsg = !e.Final
}

// decodeOut parses the frames in p, checking the mask rule of role.
func decodeOut(t *testing.T, role conn.Role, p []byte) []out {
	t.Helper()
	var frames []out
	for len(p) > 0 {
		h, n, err := frame.ParseHeader(p)
		if err != nil {
			t.Fatalf("Pending holds a bad frame: %v (% x)", err, p)
		}
		if h.Masked != (role == conn.Client) {
			t.Fatalf("%v queued a frame with Masked=%v", role, h.Masked)
		}
		if err := h.Check(role == conn.Client, 0); err != nil {
			t.Fatalf("queued frame breaks the rules: %v", err)
		}
		payload := append([]byte(nil), p[n:n+int(h.Length)]...)
		if h.Masked {
			mask.Apply(h.Key, 0, payload)
		}
		frames = append(frames, out{h.Opcode, string(payload)})
		p = p[n+int(h.Length):]
	}
	return frames
}

// feed runs stream through c in chunks ending at cuts (and len(stream)).
// With direct set, payload bytes are handed to ReadPayload whenever the
// machine allows it, as a driver reading into the destination would.
func feed(t *testing.T, c *conn.Conn, stream []byte, cuts []int, direct bool) result {
	t.Helper()
	return feedStream(t, c, stream, cuts, direct, true)
}

// feedStream is feed; with complete false, stream may end mid-frame.
func feedStream(t *testing.T, c *conn.Conn, stream []byte, cuts []int, direct, complete bool) result {
	t.Helper()
	col := &collector{t: t}
	var buf []byte
	var err error
	prev := 0
	cuts = append(cuts[:len(cuts):len(cuts)], len(stream))
feeding:
	for _, end := range cuts {
		chunk := stream[prev:end]
		prev = end
		for {
			if direct && len(buf) == 0 && c.PayloadRemaining() > 0 && len(chunk) > 0 {
				k := int(min(c.PayloadRemaining(), int64(len(chunk))))
				dst := append([]byte(nil), chunk[:k]...)
				chunk = chunk[k:]
				var e conn.Event
				e, err = c.ReadPayload(dst)
				col.add(e)
				if err != nil {
					break feeding
				}
				continue
			}
			buf = append(buf, chunk...)
			chunk = nil
			var e conn.Event
			var n int
			e, n, err = c.Next(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Next consumed %d of %d bytes", n, len(buf))
			}
			buf = buf[n:]
			col.add(e)
			if err != nil {
				break feeding
			}
			if e.Kind == conn.EventNone && n == 0 {
				if c.PayloadRemaining() > 0 && direct && len(buf) > 0 {
					t.Fatalf("Next needs input with %d bytes buffered", len(buf))
				}
				break
			}
		}
	}
	if complete && err == nil && len(buf) > 0 {
		t.Fatalf("Next left %d bytes of a complete stream unconsumed: % x", len(buf), buf[:min(len(buf), 16)])
	}
	for i := range col.events {
		if col.events[i].Kind == conn.EventData {
			col.events[i].Data = string(col.data[i])
		}
	}
	r := result{Events: col.events, State: c.State(), Initiator: c.Initiator()}
	if err != nil {
		r.Err = err.Error()
		if err2 := c.Err(); err2 != err {
			t.Fatalf("Err() = %v, Next returned %v", err2, err)
		}
		// Data before the bad byte of a failing message may or may not be
		// delivered depending on the chunking: drop an unfinished message.
		if n := len(r.Events); n > 0 && r.Events[n-1].Kind == conn.EventData && !r.Events[n-1].Final {
			r.Events = r.Events[:n-1]
		}
		// The error is sticky.
		if _, n, err3 := c.Next([]byte{0x81, 0x00}); err3 != err || n != 0 {
			t.Fatalf("after failure Next = (%d, %v), want (0, %v)", n, err3, err)
		}
	}
	if len(r.Events) == 0 {
		r.Events = nil
	}
	r.Out = decodeOut(t, c.Role(), c.Pending())
	return r
}

// chunkings returns the cut lists every stream is fed with: whole, one
// byte at a time, and random splits from a fixed seed.
func chunkings(n int, seed uint64) (names []string, cuts [][]int) {
	names = append(names, "whole")
	cuts = append(cuts, nil)
	var one []int
	for i := 1; i < n; i++ {
		one = append(one, i)
	}
	names = append(names, "bytewise")
	cuts = append(cuts, one)
	r := rand.New(rand.NewPCG(seed, 42))
	for k := range 6 {
		var cs []int
		for c := 0; ; {
			c += 1 + r.IntN(1+[]int{3, 7, 20, 64, 200, 1000}[k])
			if c >= n {
				break
			}
			cs = append(cs, c)
		}
		names = append(names, "random"+string(rune('0'+k)))
		cuts = append(cuts, cs)
	}
	return names, cuts
}

// runAll feeds stream to a fresh Conn made by mk under every chunking,
// with and without the direct payload path, and checks that all outcomes
// equal want.
func runAll(t *testing.T, mk func() *conn.Conn, stream []byte, want result) {
	t.Helper()
	names, cuts := chunkings(len(stream), uint64(len(stream)))
	for i := range names {
		for _, direct := range []bool{false, true} {
			c := mk()
			got := feed(t, c, stream, cuts[i], direct)
			if diff := cmp.Diff(want, got); diff != "" {
				mode := names[i]
				if direct {
					mode += "+direct"
				}
				t.Fatalf("%s: result mismatch (-want +got):\n%s", mode, diff)
			}
		}
	}
}

func mustNew(t testing.TB, cfg conn.Config) *conn.Conn {
	t.Helper()
	c, err := conn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func closePayload(code frame.CloseCode, reason string) string {
	b, err := frame.AppendClose(nil, code, reason)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var roles = []conn.Role{conn.Client, conn.Server}

var long125 = strings.Repeat("p", 125)

func utf8Valid(b []byte) bool { return stdutf8.Valid(b) }
