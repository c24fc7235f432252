package conn_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
)

func failed(e *frame.ProtocolError, before ...out) result {
	return result{
		Err:       e.Error(),
		Out:       append(before, out{frame.OpClose, closePayload(e.Code, e.Reason)}),
		State:     conn.StateClosed,
		Initiator: conn.Local,
	}
}

func text(s string) ev { return ev{Kind: conn.EventData, Opcode: frame.OpText, Final: true, Data: s} }
func binary(s string) ev {
	return ev{Kind: conn.EventData, Opcode: frame.OpBinary, Final: true, Data: s}
}
func partial(op frame.Opcode, s string) ev {
	return ev{Kind: conn.EventData, Opcode: op, Data: s}
}
func ping(s string) ev { return ev{Kind: conn.EventPing, Opcode: frame.OpPing, Data: s} }
func pong(s string) ev { return ev{Kind: conn.EventPong, Opcode: frame.OpPong, Data: s} }
func closeEv(code frame.CloseCode, reason string) ev {
	return ev{Kind: conn.EventClose, Opcode: frame.OpClose, Code: code, Data: reason}
}

func withEvents(r result, events ...ev) result { r.Events = events; return r }

type ruleCase struct {
	name   string
	cfg    conn.Config
	before func(t *testing.T, c *conn.Conn) // e.g. send a Close first
	frames []fr
	extra  string // raw bytes appended to the stream
	want   result
}

var ruleCases = []ruleCase{
	// RFC 6455 §5.6 data frames.
	{name: "text", frames: []fr{{op: frame.OpText, payload: "Hello"}},
		want: result{Events: []ev{text("Hello")}}},
	{name: "binary", frames: []fr{{op: frame.OpBinary, payload: "\x00\xff\x80"}},
		want: result{Events: []ev{binary("\x00\xff\x80")}}},
	{name: "empty text", frames: []fr{{op: frame.OpText}},
		want: result{Events: []ev{text("")}}},
	{name: "two messages", frames: []fr{{op: frame.OpText, payload: "a"}, {op: frame.OpBinary, payload: "b"}},
		want: result{Events: []ev{text("a"), binary("b")}}},
	{name: "125 126 65535 65536 bytes", frames: []fr{
		{op: frame.OpBinary, payload: long125},
		{op: frame.OpBinary, payload: strings.Repeat("x", 126)},
		{op: frame.OpBinary, payload: strings.Repeat("y", 65535)},
		{op: frame.OpBinary, payload: strings.Repeat("z", 65536)}},
		want: result{Events: []ev{binary(long125), binary(strings.Repeat("x", 126)), binary(strings.Repeat("y", 65535)), binary(strings.Repeat("z", 65536))}}},

	// RFC 6455 §5.4 fragmentation.
	{name: "fragmented text", frames: []fr{
		{op: frame.OpText, flags: frame.More, payload: "Hel"},
		{op: frame.OpContinuation, flags: frame.More, payload: ""},
		{op: frame.OpContinuation, payload: "lo"}},
		want: result{Events: []ev{text("Hello")}}},
	{name: "fragmented with empty final", frames: []fr{
		{op: frame.OpBinary, flags: frame.More, payload: "ab"},
		{op: frame.OpContinuation}},
		want: result{Events: []ev{binary("ab")}}},
	{name: "control frames inside a fragmented message", frames: []fr{
		{op: frame.OpText, flags: frame.More, payload: "Hel"},
		{op: frame.OpPing, payload: "p1"},
		{op: frame.OpPong, payload: "u"},
		{op: frame.OpContinuation, payload: "lo"}},
		want: result{Events: []ev{partial(frame.OpText, "Hel"), ping("p1"), pong("u"), text("lo")},
			Out: []out{{frame.OpPong, "p1"}}}},
	{name: "continuation without message", frames: []fr{{op: frame.OpContinuation, payload: "x"}},
		want: failed(frame.ErrUnexpectedContinuation)},
	{name: "continuation after final", frames: []fr{{op: frame.OpText, payload: "a"}, {op: frame.OpContinuation, payload: "x"}},
		want: withEvents(failed(frame.ErrUnexpectedContinuation), text("a"))},
	{name: "new message while one is open", frames: []fr{
		{op: frame.OpText, flags: frame.More, payload: "a"}, {op: frame.OpBinary, payload: "b"}},
		want: failed(frame.ErrMessageOpen)},

	// RFC 6455 §5.5 control frames.
	{name: "ping answered with identical pong", frames: []fr{{op: frame.OpPing, payload: "Hello"}},
		want: result{Events: []ev{ping("Hello")}, Out: []out{{frame.OpPong, "Hello"}}}},
	{name: "empty ping", frames: []fr{{op: frame.OpPing}},
		want: result{Events: []ev{ping("")}, Out: []out{{frame.OpPong, ""}}}},
	{name: "ping with 125 bytes", frames: []fr{{op: frame.OpPing, payload: long125}},
		want: result{Events: []ev{ping(long125)}, Out: []out{{frame.OpPong, long125}}}},
	{name: "pings coalesced into the latest pong", frames: []fr{
		{op: frame.OpPing, payload: "1"}, {op: frame.OpPing, payload: "2"}, {op: frame.OpPing, payload: long125}, {op: frame.OpPing, payload: "4"}},
		want: result{Events: []ev{ping("1"), ping("2"), ping(long125), ping("4")}, Out: []out{{frame.OpPong, "4"}}}},
	{name: "unsolicited pong", frames: []fr{{op: frame.OpPong, payload: "hb"}},
		want: result{Events: []ev{pong("hb")}}},
	{name: "ping 126 bytes", frames: []fr{{op: frame.OpPing, payload: long125 + "x"}},
		want: failed(frame.ErrControlTooLong)},
	{name: "fragmented ping", frames: []fr{{op: frame.OpPing, flags: frame.More, payload: "a"}},
		want: failed(frame.ErrFragmentedControl)},
	{name: "reserved opcode 3", frames: []fr{{op: 3, payload: "a"}},
		want: failed(frame.ErrReservedOpcode)},
	{name: "reserved opcode 0xB", frames: []fr{{op: 0xB}},
		want: failed(frame.ErrReservedOpcode)},

	// RFC 6455 §5.2 RSV bits, RFC 7692 §6 RSV1 per message.
	{name: "RSV1 without extension", frames: []fr{{op: frame.OpText, flags: frame.RSV1, payload: "a"}},
		want: failed(frame.ErrReservedBits)},
	{name: "RSV3 without extension", frames: []fr{{op: frame.OpPing, flags: frame.RSV3}},
		want: failed(frame.ErrReservedBits)},
	{name: "RSV2 granted", cfg: conn.Config{AllowedRSV: frame.RSV2}, frames: []fr{{op: frame.OpBinary, flags: frame.RSV2, payload: "a"}},
		want: result{Events: []ev{{Kind: conn.EventData, Opcode: frame.OpBinary, Final: true, RSV: frame.RSV2, Data: "a"}}}},
	{name: "RSV1 granted, no inflater: raw", cfg: conn.Config{AllowedRSV: frame.RSV1}, frames: []fr{
		{op: frame.OpBinary, flags: frame.RSV1 | frame.More, payload: "a"}, {op: frame.OpContinuation, payload: "b"}},
		want: result{Events: []ev{{Kind: conn.EventData, Opcode: frame.OpBinary, Final: true, RSV: frame.RSV1, Data: "ab"}}}},
	{name: "RSV1 on continuation", cfg: conn.Config{AllowedRSV: frame.RSV1}, frames: []fr{
		{op: frame.OpBinary, flags: frame.RSV1 | frame.More, payload: "a"}, {op: frame.OpContinuation, flags: frame.RSV1, payload: "b"}},
		want: failed(frame.ErrReservedBits)},
	{name: "RSV1 on control frame", cfg: conn.Config{AllowedRSV: frame.RSV1}, frames: []fr{{op: frame.OpPing, flags: frame.RSV1}},
		want: failed(frame.ErrReservedBits)},

	// RFC 6455 §5.1 masking.
	{name: "wrong masking", frames: []fr{{op: frame.OpText, payload: "a", badMask: true}},
		want: result{}}, // want filled per role in TestRules

	// RFC 6455 §5.6, §8.1 UTF-8.
	{name: "valid UTF-8 split across frames", frames: []fr{
		{op: frame.OpText, flags: frame.More, payload: "κ\xce"}, {op: frame.OpContinuation, flags: frame.More, payload: "\xbaό"},
		{op: frame.OpContinuation, payload: "\xf0\x9f"}, {op: frame.OpContinuation}},
		want: withEvents(failed(frame.ErrInvalidUTF8))}, // last frame ends mid code point
	{name: "4-byte code point split over 3 frames", frames: []fr{
		{op: frame.OpText, flags: frame.More, payload: "\xf0"}, {op: frame.OpContinuation, flags: frame.More, payload: "\x9f\x98"},
		{op: frame.OpContinuation, payload: "\x80!"}},
		want: result{Events: []ev{text("😀!")}}},
	{name: "invalid byte fails in its frame", frames: []fr{
		{op: frame.OpText, flags: frame.More, payload: "ok\xce"}, {op: frame.OpContinuation, flags: frame.More, payload: "A"},
		{op: frame.OpPing, payload: "never"}},
		want: failed(frame.ErrInvalidUTF8)},
	{name: "surrogate", frames: []fr{{op: frame.OpText, payload: "\xed\xa0\x80"}},
		want: failed(frame.ErrInvalidUTF8)},
	{name: "above U+10FFFF", frames: []fr{{op: frame.OpText, flags: frame.More, payload: "\xf4\x90"}},
		want: failed(frame.ErrInvalidUTF8)},
	{name: "binary is not validated", frames: []fr{{op: frame.OpBinary, payload: "\xff\xfe"}},
		want: result{Events: []ev{binary("\xff\xfe")}}},

	// RFC 6455 §5.5.1 and §7 closing handshake.
	{name: "peer close echoed", frames: []fr{{op: frame.OpClose, payload: closePayload(frame.CloseGoingAway, "bye")}},
		want: result{Events: []ev{closeEv(frame.CloseGoingAway, "bye")}, Out: []out{{frame.OpClose, closePayload(frame.CloseGoingAway, "")}},
			State: conn.StateClosed, Initiator: conn.Peer}},
	{name: "peer close without status", frames: []fr{{op: frame.OpClose}},
		want: result{Events: []ev{closeEv(frame.CloseNoStatus, "")}, Out: []out{{frame.OpClose, ""}},
			State: conn.StateClosed, Initiator: conn.Peer}},
	{name: "peer close 4000 with 123-byte reason", frames: []fr{{op: frame.OpClose, payload: closePayload(4000, long125[:123])}},
		want: result{Events: []ev{closeEv(4000, long125[:123])}, Out: []out{{frame.OpClose, closePayload(4000, "")}},
			State: conn.StateClosed, Initiator: conn.Peer}},
	{name: "everything after close ignored", frames: []fr{
		{op: frame.OpText, flags: frame.More, payload: "abandoned"},
		{op: frame.OpClose, payload: closePayload(frame.CloseNormal, "")},
		{op: frame.OpText, payload: "late"}, {op: frame.OpPing, payload: "late"}, {op: 3}},
		extra: "\xff\xff garbage",
		want: result{Events: []ev{partial(frame.OpText, "abandoned"), closeEv(frame.CloseNormal, "")},
			Out: []out{{frame.OpClose, closePayload(frame.CloseNormal, "")}}, State: conn.StateClosed, Initiator: conn.Peer}},
	{name: "pong then close queued in order", frames: []fr{{op: frame.OpPing, payload: "x"}, {op: frame.OpClose, payload: closePayload(3001, "")}},
		want: result{Events: []ev{ping("x"), closeEv(3001, "")}, Out: []out{{frame.OpPong, "x"}, {frame.OpClose, closePayload(3001, "")}},
			State: conn.StateClosed, Initiator: conn.Peer}},
	{name: "close payload of 1 byte", frames: []fr{{op: frame.OpClose, payload: "\x03"}},
		want: failed(frame.ErrCloseLength)},
	{name: "close code 1005 on the wire", frames: []fr{{op: frame.OpClose, payload: "\x03\xed"}},
		want: failed(frame.ErrCloseCode)},
	{name: "close code 999", frames: []fr{{op: frame.OpClose, payload: "\x03\xe7"}},
		want: failed(frame.ErrCloseCode)},
	{name: "close code 5000", frames: []fr{{op: frame.OpClose, payload: "\x13\x88"}},
		want: failed(frame.ErrCloseCode)},
	{name: "close reason not UTF-8", frames: []fr{{op: frame.OpClose, payload: "\x03\xe8\xff"}},
		want: failed(frame.ErrInvalidUTF8)},
	{name: "locally initiated close, peer replies", before: sendClose(frame.CloseNormal),
		frames: []fr{{op: frame.OpText, payload: "still delivered"}, {op: frame.OpPing, payload: "no pong"}, {op: frame.OpClose, payload: closePayload(frame.CloseNormal, "")}},
		want:   result{Events: []ev{text("still delivered"), ping("no pong"), closeEv(frame.CloseNormal, "")}, State: conn.StateClosed, Initiator: conn.Local}},
	{name: "locally initiated close, peer violates protocol", before: sendClose(frame.CloseNormal),
		frames: []fr{{op: 3}},
		want:   result{Err: frame.ErrReservedOpcode.Error(), State: conn.StateClosed, Initiator: conn.Local}},
	{name: "local close, waiting", before: sendClose(frame.CloseGoingAway),
		frames: []fr{{op: frame.OpBinary, payload: "x"}},
		want:   result{Events: []ev{binary("x")}, State: conn.StateClosing, Initiator: conn.Local}},

	// Limits (RFC 6455 §10.4) → 1009.
	{name: "frame over MaxFrameSize", cfg: conn.Config{MaxFrameSize: 4}, frames: []fr{{op: frame.OpBinary, payload: "1234"}, {op: frame.OpBinary, payload: "12345"}},
		want: withEvents(failed(frame.ErrFrameTooBig), binary("1234"))},
	{name: "message over MaxMessageSize", cfg: conn.Config{MaxMessageSize: 5}, frames: []fr{
		{op: frame.OpText, payload: "12345"},
		{op: frame.OpText, flags: frame.More, payload: "123"}, {op: frame.OpContinuation, payload: "456"}},
		want: withEvents(failed(frame.ErrMessageTooBig), text("12345"))},
	{name: "too many fragments", cfg: conn.Config{MaxFragments: 3}, frames: []fr{
		{op: frame.OpText, flags: frame.More}, {op: frame.OpContinuation, flags: frame.More}, {op: frame.OpContinuation, payload: "ok"},
		{op: frame.OpText, flags: frame.More}, {op: frame.OpContinuation, flags: frame.More}, {op: frame.OpContinuation, flags: frame.More}, {op: frame.OpContinuation}},
		want: withEvents(failed(frame.ErrTooManyFragments), text("ok"))},
	{name: "control frames do not count as fragments", cfg: conn.Config{MaxFragments: 2}, frames: []fr{
		{op: frame.OpText, flags: frame.More, payload: "a"}, {op: frame.OpPing}, {op: frame.OpPong}, {op: frame.OpContinuation, payload: "b"}},
		want: result{Events: []ev{partial(frame.OpText, "a"), ping(""), pong(""), text("b")}, Out: []out{{frame.OpPong, ""}}}},
	{name: "no limits", cfg: conn.Config{MaxMessageSize: -1, MaxFrameSize: -1, MaxFragments: -1}, frames: []fr{{op: frame.OpBinary, payload: "ok"}},
		want: result{Events: []ev{binary("ok")}}},
}

func sendClose(code frame.CloseCode) func(t *testing.T, c *conn.Conn) {
	return func(t *testing.T, c *conn.Conn) {
		if _, err := c.AppendClose(nil, code, ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases {
		for _, role := range roles {
			t.Run(tc.name+"/"+role.String(), func(t *testing.T) {
				want := tc.want
				if tc.name == "wrong masking" {
					if role == conn.Server {
						want = failed(frame.ErrUnmasked)
					} else {
						want = failed(frame.ErrMasked)
					}
				}
				stream := append(build(role, tc.frames...), tc.extra...)
				runAll(t, func() *conn.Conn {
					cfg := tc.cfg
					cfg.Role = role
					c := mustNew(t, cfg)
					if tc.before != nil {
						tc.before(t, c)
					}
					return c
				}, stream, want)
			})
		}
	}
}

// TestNonMinimalLength feeds raw headers that break the structural rules of
// RFC 6455 §5.2, under every chunking.
func TestStructuralErrors(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   *frame.ProtocolError
	}{
		{"126 form for 5 bytes", "\x82\x7e\x00\x05hello", frame.ErrNonMinimalLength},
		{"127 form for 200 bytes", "\x82\x7f\x00\x00\x00\x00\x00\x00\x00\xc8", frame.ErrNonMinimalLength},
		{"64-bit length with top bit", "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", frame.ErrLengthOverflow},
		{"2^63-1 length over the default limit", "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", frame.ErrFrameTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runAll(t, func() *conn.Conn { return mustNew(t, conn.Config{Role: conn.Client}) }, []byte(tt.stream), failed(tt.want))
		})
	}
}

// TestRFCExamples uses the frames of RFC 6455 §5.7, byte for byte.
func TestRFCExamples(t *testing.T) {
	b256 := strings.Repeat("\x00", 256)
	b64k := strings.Repeat("\x00", 65536)
	tests := []struct {
		name   string
		role   conn.Role // the receiver
		stream string
		want   result
	}{
		{"single-frame unmasked text", conn.Client, "\x81\x05\x48\x65\x6c\x6c\x6f", result{Events: []ev{text("Hello")}}},
		{"single-frame masked text", conn.Server, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", result{Events: []ev{text("Hello")}}},
		{"fragmented unmasked text", conn.Client, "\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f", result{Events: []ev{text("Hello")}}},
		{"unmasked ping", conn.Client, "\x89\x05\x48\x65\x6c\x6c\x6f", result{Events: []ev{ping("Hello")}, Out: []out{{frame.OpPong, "Hello"}}}},
		{"masked pong", conn.Server, "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", result{Events: []ev{pong("Hello")}}},
		{"256 bytes binary", conn.Client, "\x82\x7e\x01\x00" + b256, result{Events: []ev{binary(b256)}}},
		{"64KiB binary", conn.Client, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" + b64k, result{Events: []ev{binary(b64k)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runAll(t, func() *conn.Conn { return mustNew(t, conn.Config{Role: tt.role}) }, []byte(tt.stream), tt.want)
		})
	}
}

// SetMaxMessageSize changes the bound from the next frame on, and n ≤ 0
// restores the configured one.
func TestSetMaxMessageSize(t *testing.T) {
	c := mustNew(t, conn.Config{Role: conn.Server, MaxMessageSize: 100})
	stream := build(conn.Server, fr{op: frame.OpBinary, payload: strings.Repeat("a", 60)})
	c.SetMaxMessageSize(50)
	if _, _, err := c.Next(stream); !errors.Is(err, frame.ErrMessageTooBig) {
		t.Fatalf("60 bytes under a bound of 50: %v, want ErrMessageTooBig", err)
	}
	c = mustNew(t, conn.Config{Role: conn.Server, MaxMessageSize: 100})
	c.SetMaxMessageSize(50)
	c.SetMaxMessageSize(0) // back to 100
	if e, _, err := c.Next(stream); err != nil || e.Kind != conn.EventData || len(e.Data) != 60 {
		t.Fatalf("60 bytes after restoring 100: %+v, %v", e, err)
	}
	var pe *frame.ProtocolError
	if _, _, err := c.Next(build(conn.Server, fr{op: frame.OpBinary, payload: strings.Repeat("a", 101)})); !errors.As(err, &pe) || pe.Code != frame.CloseMessageTooBig {
		t.Fatalf("101 bytes under the configured 100: %v, want a 1009 failure", err)
	}
}
