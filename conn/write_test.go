package conn_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

type wframe struct {
	Opcode  frame.Opcode
	Fin     bool
	RSV     frame.Flags
	Payload string
}

// decodeWritten parses frames written by a Conn of role.
func decodeWritten(t *testing.T, role conn.Role, p []byte) []wframe {
	t.Helper()
	var frames []wframe
	for len(p) > 0 {
		h, n, err := frame.ParseHeader(p)
		if err != nil {
			t.Fatalf("bad frame written: %v", err)
		}
		if h.Masked != (role == conn.Client) {
			t.Fatalf("%v wrote a frame with Masked=%v", role, h.Masked)
		}
		payload := append([]byte(nil), p[n:n+int(h.Length)]...)
		if h.Masked {
			mask.Apply(h.Key, 0, payload)
		}
		frames = append(frames, wframe{h.Opcode, h.Fin, h.RSV(), string(payload)})
		p = p[n+int(h.Length):]
	}
	return frames
}

type wop struct {
	op      frame.Opcode
	flags   frame.Flags
	payload string
	close   bool // AppendClose(code, payload) instead
	code    frame.CloseCode
	err     error
}

func TestWriteRules(t *testing.T) {
	tests := []struct {
		name string
		cfg  conn.Config
		ops  []wop
		want []wframe
	}{
		{"whole messages", conn.Config{}, []wop{{op: frame.OpText, payload: "Hello"}, {op: frame.OpBinary, payload: "\x00"}},
			[]wframe{{frame.OpText, true, 0, "Hello"}, {frame.OpBinary, true, 0, "\x00"}}},
		{"fragments with control frames between", conn.Config{}, []wop{
			{op: frame.OpText, flags: frame.More, payload: "Hel"},
			{op: frame.OpPing, payload: "p"},
			{op: frame.OpContinuation, flags: frame.More},
			{op: frame.OpPong, payload: "q"},
			{op: frame.OpContinuation, payload: "lo"},
			{op: frame.OpText, payload: "next"}},
			[]wframe{{frame.OpText, false, 0, "Hel"}, {frame.OpPing, true, 0, "p"}, {frame.OpContinuation, false, 0, ""},
				{frame.OpPong, true, 0, "q"}, {frame.OpContinuation, true, 0, "lo"}, {frame.OpText, true, 0, "next"}}},
		{"new message while one is open (the seed bug)", conn.Config{}, []wop{
			{op: frame.OpText, flags: frame.More, payload: "a"},
			{op: frame.OpText, payload: "b", err: conn.ErrWriteMessageOpen},
			{op: frame.OpBinary, payload: "b", err: conn.ErrWriteMessageOpen},
			{op: frame.OpContinuation, payload: "end"}},
			[]wframe{{frame.OpText, false, 0, "a"}, {frame.OpContinuation, true, 0, "end"}}},
		{"continuation with none open", conn.Config{}, []wop{{op: frame.OpContinuation, payload: "x", err: conn.ErrWriteNoMessage}}, nil},
		{"fragmented control", conn.Config{}, []wop{{op: frame.OpPing, flags: frame.More, err: conn.ErrWriteFragmentedControl}}, nil},
		{"control 126 bytes", conn.Config{}, []wop{{op: frame.OpPong, payload: long125 + "x", err: conn.ErrWriteControlTooLong},
			{op: frame.OpPong, payload: long125}}, []wframe{{frame.OpPong, true, 0, long125}}},
		{"reserved opcodes", conn.Config{}, []wop{{op: 3, err: conn.ErrWriteReservedOpcode}, {op: 0xF, err: conn.ErrWriteReservedOpcode}}, nil},
		{"close through AppendFrame", conn.Config{}, []wop{{op: frame.OpClose, err: conn.ErrWriteBadClose}}, nil},
		{"mask flag", conn.Config{}, []wop{{op: frame.OpText, flags: frame.Mask, err: conn.ErrWriteMaskFlag}}, nil},
		{"RSV not granted", conn.Config{}, []wop{{op: frame.OpText, flags: frame.RSV1, err: conn.ErrWriteRSV},
			{op: frame.OpPing, flags: frame.RSV2, err: conn.ErrWriteRSV}}, nil},
		{"RSV1 granted: first frame only", conn.Config{AllowedRSV: frame.RSV1}, []wop{
			{op: frame.OpText, flags: frame.RSV1 | frame.More, payload: "c"},
			{op: frame.OpContinuation, flags: frame.RSV1, err: conn.ErrWriteRSV},
			{op: frame.OpPing, flags: frame.RSV1, err: conn.ErrWriteRSV},
			{op: frame.OpContinuation, payload: "d"}},
			[]wframe{{frame.OpText, false, frame.RSV1, "c"}, {frame.OpContinuation, true, 0, "d"}}},
		{"RSV2 granted: any frame", conn.Config{AllowedRSV: frame.RSV2}, []wop{{op: frame.OpPing, flags: frame.RSV2}},
			[]wframe{{frame.OpPing, true, frame.RSV2, ""}}},
		{"nothing after close", conn.Config{}, []wop{
			{close: true, code: frame.CloseNormal, payload: "bye"},
			{op: frame.OpText, payload: "x", err: conn.ErrWriteCloseSent},
			{op: frame.OpPing, err: conn.ErrWriteCloseSent},
			{close: true, code: frame.CloseNormal, err: conn.ErrWriteCloseSent}},
			[]wframe{{frame.OpClose, true, 0, closePayload(frame.CloseNormal, "bye")}}},
		{"close abandons an open message", conn.Config{}, []wop{
			{op: frame.OpBinary, flags: frame.More, payload: "x"},
			{close: true, code: frame.CloseGoingAway}},
			[]wframe{{frame.OpBinary, false, 0, "x"}, {frame.OpClose, true, 0, closePayload(frame.CloseGoingAway, "")}}},
		{"close without status", conn.Config{}, []wop{{close: true, code: frame.CloseNoStatus}},
			[]wframe{{frame.OpClose, true, 0, ""}}},
		{"bad close code refused, then a good one", conn.Config{}, []wop{
			{close: true, code: frame.CloseAbnormal, err: frame.ErrCloseCode},
			{close: true, code: 4000, payload: strings.Repeat("r", 124), err: frame.ErrCloseReasonTooLong},
			{close: true, code: 4000, payload: "ok"}},
			[]wframe{{frame.OpClose, true, 0, closePayload(4000, "ok")}}},
	}
	for _, tt := range tests {
		for _, role := range roles {
			t.Run(tt.name+"/"+role.String(), func(t *testing.T) {
				cfg := tt.cfg
				cfg.Role = role
				c := mustNew(t, cfg)
				var dst []byte
				for i, o := range tt.ops {
					before := len(dst)
					var err error
					if o.close {
						dst, err = c.AppendClose(dst, o.code, o.payload)
					} else {
						dst, err = c.AppendFrame(dst, o.op, o.flags, []byte(o.payload))
					}
					if !errors.Is(err, o.err) {
						t.Fatalf("op %d: err = %v, want %v", i, err, o.err)
					}
					if err != nil && len(dst) != before {
						t.Fatalf("op %d: %d bytes appended despite the error", i, len(dst)-before)
					}
				}
				if diff := cmp.Diff(tt.want, decodeWritten(t, role, dst)); diff != "" {
					t.Errorf("frames (-want +got):\n%s", diff)
				}
				if len(c.Pending()) != 0 {
					t.Errorf("writing queued output: % x", c.Pending())
				}
			})
		}
	}
}

func TestAppendHeaderChunkedPayload(t *testing.T) {
	payload := []byte(strings.Repeat("large payload ", 5000))
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			c := mustNew(t, conn.Config{Role: role})
			dst, h, err := c.AppendHeader(nil, frame.OpBinary, frame.More, int64(len(payload)))
			if err != nil {
				t.Fatal(err)
			}
			if h.Masked != (role == conn.Client) || h.Length != int64(len(payload)) || h.Fin {
				t.Fatalf("header %+v", h)
			}
			// Send the payload in odd chunks, masking while copying.
			pos := 0
			for off := 0; off < len(payload); off += 777 {
				chunk := payload[off:min(off+777, len(payload))]
				start := len(dst)
				dst = append(dst, chunk...)
				if h.Masked {
					pos = mask.Apply(h.Key, pos, dst[start:])
				}
			}
			if !c.Sending() {
				t.Fatal("Sending() = false with a fragmented message open")
			}
			if _, _, err := c.AppendHeader(nil, frame.OpText, 0, 1); !errors.Is(err, conn.ErrWriteMessageOpen) {
				t.Fatalf("second message header: err = %v", err)
			}
			if _, _, err := c.AppendHeader(nil, frame.OpContinuation, 0, -1); !errors.Is(err, conn.ErrWriteLength) {
				t.Fatalf("negative length: err = %v", err)
			}
			dst, err = c.AppendFrame(dst, frame.OpContinuation, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := []wframe{{frame.OpBinary, false, 0, string(payload)}, {frame.OpContinuation, true, 0, ""}}
			if diff := cmp.Diff(want, decodeWritten(t, role, dst)); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
			if c.Sending() {
				t.Fatal("Sending() = true after the final frame")
			}
		})
	}
}

// TestRoundTrip sends everything a client writes to a server Conn and
// back, checking that each side's writer produces what the other accepts.
func TestRoundTrip(t *testing.T) {
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			peerRole := conn.Server
			if role == conn.Server {
				peerRole = conn.Client
			}
			w := mustNew(t, conn.Config{Role: role})
			r := mustNew(t, conn.Config{Role: peerRole})
			var b []byte
			var err error
			b, _ = w.AppendFrame(b, frame.OpText, frame.More, []byte("κό"))
			b, _ = w.AppendFrame(b, frame.OpPing, 0, []byte("ping"))
			b, _ = w.AppendFrame(b, frame.OpContinuation, 0, []byte("σμε"))
			b, err = w.AppendClose(b, frame.CloseNormal, "done")
			if err != nil {
				t.Fatal(err)
			}
			got := feed(t, r, b, nil, false)
			want := result{
				Events:    []ev{partial(frame.OpText, "κό"), ping("ping"), text("σμε"), closeEv(frame.CloseNormal, "done")},
				Out:       []out{{frame.OpPong, "ping"}, {frame.OpClose, closePayload(frame.CloseNormal, "")}},
				State:     conn.StateClosed,
				Initiator: conn.Peer,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			// The reply goes back to the writer, which completes the handshake.
			got = feed(t, w, r.Pending(), nil, false)
			want = result{Events: []ev{pong("ping"), closeEv(frame.CloseNormal, "")}, State: conn.StateClosed, Initiator: conn.Local}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestClosingStates(t *testing.T) {
	c := mustNew(t, conn.Config{Role: conn.Server})
	if c.State() != conn.StateOpen || c.Initiator() != conn.None {
		t.Fatalf("new: %v %v", c.State(), c.Initiator())
	}
	if _, err := c.AppendClose(nil, 4001, "app"); err != nil {
		t.Fatal(err)
	}
	if code, ok := c.CloseSent(); !ok || code != 4001 || c.State() != conn.StateClosing || c.Initiator() != conn.Local {
		t.Fatalf("after AppendClose: %v %v %v %v", code, ok, c.State(), c.Initiator())
	}
	if _, _, ok := c.CloseReceived(); ok {
		t.Fatal("CloseReceived before any input")
	}
	feed(t, c, build(conn.Server, fr{op: frame.OpClose, payload: closePayload(4001, "ack")}), nil, false)
	code, reason, ok := c.CloseReceived()
	if !ok || code != 4001 || string(reason) != "ack" || c.State() != conn.StateClosed {
		t.Fatalf("after the reply: %v %q %v %v", code, reason, ok, c.State())
	}
	c.Reset()
	if c.State() != conn.StateOpen || c.Initiator() != conn.None || c.Err() != nil || len(c.Pending()) != 0 {
		t.Fatal("Reset did not return to the open state")
	}
}

func TestFail(t *testing.T) {
	for _, role := range roles {
		c := mustNew(t, conn.Config{Role: role})
		err := c.Fail(frame.ClosePolicyViolation, "no thanks")
		var pe *frame.ProtocolError
		if !errors.As(err, &pe) || pe.Code != frame.ClosePolicyViolation {
			t.Fatalf("Fail returned %v", err)
		}
		if c.State() != conn.StateClosed || c.Initiator() != conn.Local || c.Err() != err {
			t.Fatalf("after Fail: %v %v %v", c.State(), c.Initiator(), c.Err())
		}
		want := []out{{frame.OpClose, closePayload(frame.ClosePolicyViolation, "no thanks")}}
		if diff := cmp.Diff(want, decodeOut(t, role, c.Pending())); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
		if _, _, err2 := c.Next([]byte{0x81, 0}); err2 != err {
			t.Fatalf("Next after Fail: %v", err2)
		}
		if c.Fail(frame.CloseNormal, "") != err {
			t.Fatal("second Fail changed the error")
		}
		if _, err := c.AppendFrame(nil, frame.OpText, 0, nil); !errors.Is(err, conn.ErrWriteCloseSent) {
			t.Fatalf("AppendFrame after Fail: %v", err)
		}
	}
}

// TestPendingPartialFlush: a Pong the driver started writing is kept whole;
// only Pongs not started are replaced.
func TestPendingPartialFlush(t *testing.T) {
	for _, role := range roles {
		t.Run(role.String(), func(t *testing.T) {
			c := mustNew(t, conn.Config{Role: role})
			var sent []byte
			flush := func(n int) {
				p := c.Pending()
				n = min(n, len(p))
				sent = append(sent, p[:n]...)
				c.Advance(n)
			}
			nextAll(t, c, build(role, fr{op: frame.OpPing, payload: long125}))
			flush(10) // the first Pong is now started
			for i := range 50 {
				nextAll(t, c, build(role, fr{op: frame.OpPing, payload: strings.Repeat(string(rune('a'+i%26)), 100+i%26)}))
				if len(c.Pending()) > 3*(6+125) {
					t.Fatalf("Pending grew to %d bytes", len(c.Pending()))
				}
			}
			flush(1 << 20)
			want := []out{{frame.OpPong, long125}, {frame.OpPong, strings.Repeat(string(rune('a'+49%26)), 100+49%26)}}
			if diff := cmp.Diff(want, decodeOut(t, role, sent)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if len(c.Pending()) != 0 {
				t.Fatal("Pending not empty after flushing all")
			}
		})
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  conn.Config
		want error
	}{
		{"no role", conn.Config{}, conn.ErrBadRole},
		{"bad role", conn.Config{Role: 7}, conn.ErrBadRole},
		{"mask bit in AllowedRSV", conn.Config{Role: conn.Client, AllowedRSV: frame.Mask}, conn.ErrBadConfig},
		{"inflater without RSV1", conn.Config{Role: conn.Client, Inflater: &rle{}}, conn.ErrBadConfig},
		{"huge inflate buffer", conn.Config{Role: conn.Client, AllowedRSV: frame.RSV1, Inflater: &rle{}, InflateBufferSize: 1 << 30}, conn.ErrBadConfig},
		{"negative inflate buffer", conn.Config{Role: conn.Client, AllowedRSV: frame.RSV1, Inflater: &rle{}, InflateBufferSize: -1}, conn.ErrBadConfig},
		{"ok", conn.Config{Role: conn.Server, AllowedRSV: frame.RSV1, Inflater: &rle{}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := conn.New(tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New: err = %v, want %v", err, tt.want)
			}
			if (c == nil) != (err != nil) {
				t.Fatalf("New returned %v with err %v", c, err)
			}
		})
	}
}

func TestReadPayloadBeyondFrame(t *testing.T) {
	c := mustNew(t, conn.Config{Role: conn.Client})
	in := build(conn.Client, fr{op: frame.OpBinary, payload: "abcd"})
	_, n, err := c.Next(in[:2])
	if err != nil || n != 2 || c.PayloadRemaining() != 4 {
		t.Fatalf("Next(header) = %d, %v; remaining %d", n, err, c.PayloadRemaining())
	}
	if _, err := c.ReadPayload(make([]byte, 5)); !errors.Is(err, conn.ErrReadPayload) {
		t.Fatalf("ReadPayload(5) err = %v", err)
	}
	e, err := c.ReadPayload(append([]byte(nil), in[2:]...))
	if err != nil || !e.Final || string(e.Data) != "abcd" || c.PayloadRemaining() != 0 {
		t.Fatalf("ReadPayload = %+v, %v", e, err)
	}
}

// nextAll runs in through c with Next, without looking at Pending.
func nextAll(t *testing.T, c *conn.Conn, in []byte) {
	t.Helper()
	for {
		e, n, err := c.Next(in)
		if err != nil {
			t.Fatal(err)
		}
		in = in[n:]
		if n == 0 && e.Kind == conn.EventNone {
			break
		}
	}
	if len(in) != 0 {
		t.Fatalf("%d bytes left over", len(in))
	}
}

// TestAppendCloseDropsQueuedPong: a Pong not started must not follow our
// Close frame; a started one is completed.
func TestAppendCloseDropsQueuedPong(t *testing.T) {
	for _, started := range []bool{false, true} {
		c := mustNew(t, conn.Config{Role: conn.Server})
		nextAll(t, c, build(conn.Server, fr{op: frame.OpPing, payload: "hb"}))
		var sent []byte
		if started {
			sent = append(sent, c.Pending()[:1]...)
			c.Advance(1)
		}
		closeFrame, err := c.AppendClose(nil, frame.CloseNormal, "")
		if err != nil {
			t.Fatal(err)
		}
		sent = append(append(sent, c.Pending()...), closeFrame...)
		want := []wframe{{frame.OpClose, true, 0, closePayload(frame.CloseNormal, "")}}
		if started {
			want = append([]wframe{{frame.OpPong, true, 0, "hb"}}, want...)
		}
		if diff := cmp.Diff(want, decodeWritten(t, conn.Server, sent)); diff != "" {
			t.Errorf("started=%v (-want +got):\n%s", started, diff)
		}
	}
}
