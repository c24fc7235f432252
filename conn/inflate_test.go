package conn_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
)

// rle is a toy push-style Inflater standing in for permessage-deflate: the
// compressed form is pairs (n, b) meaning n copies of b (n 1..255), and
// 00 00 ff ff is a flush marker, so the tail Conn appends at the end of each
// message (RFC 7692 §7.2.2) is consumed like deflate's empty stored block.
type rle struct {
	cnt     int // pending output run
	b       byte
	half    bool // a count byte was read
	n       byte
	marker  int // marker bytes still expected
	ends    int // EndMessage calls
	err     error
	failEnd bool // EndMessage finds the message malformed
}

var errRLE = errors.New("rle: bad marker")

func (r *rle) Inflate(out, in []byte) (nOut, nIn int, err error) {
	for {
		for r.cnt > 0 && nOut < len(out) {
			out[nOut] = r.b
			nOut++
			r.cnt--
		}
		if nOut == len(out) || nIn == len(in) {
			return nOut, nIn, nil
		}
		c := in[nIn]
		nIn++
		switch {
		case r.marker > 0:
			if c != [3]byte{0x00, 0xff, 0xff}[3-r.marker] {
				return nOut, nIn, errRLE
			}
			r.marker--
		case r.half:
			r.cnt, r.b, r.half = int(r.n), c, false
		case c == 0:
			r.marker = 3
		default:
			r.n, r.half = c, true
		}
	}
}

func (r *rle) EndMessage() error {
	r.ends++
	if r.failEnd {
		r.err = errRLEEnd
	}
	return r.err
}

var errRLEEnd = errors.New("rle: message does not end at a block boundary")

// compress encodes s in the rle form, without the tail (RFC 7692 §7.2.1).
func compress(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && j-i < 255 && s[j] == s[i] {
			j++
		}
		b = append(b, byte(j-i), s[i])
		i = j
	}
	return string(b)
}

func TestInflate(t *testing.T) {
	big := "héllo " + strings.Repeat("abc", 400) + strings.Repeat("a", 10000) + strings.Repeat("b", 300) + "!"
	cbig := compress(big)
	rsv1 := frame.RSV1
	tests := []struct {
		name     string
		cfg      conn.Config
		frames   []fr
		want     result
		wantEnds int
		failEnd  bool
	}{
		{name: "compressed text", frames: []fr{{op: frame.OpText, flags: rsv1, payload: cbig}},
			want:     result{Events: []ev{{Kind: conn.EventData, Opcode: frame.OpText, Final: true, RSV: rsv1, Data: big}}},
			wantEnds: 1},
		{name: "empty compressed message", frames: []fr{{op: frame.OpBinary, flags: rsv1}},
			want:     result{Events: []ev{{Kind: conn.EventData, Opcode: frame.OpBinary, Final: true, RSV: rsv1}}},
			wantEnds: 1},
		{name: "fragmented with ping inside", frames: []fr{
			{op: frame.OpText, flags: rsv1 | frame.More, payload: cbig[:1001]},
			{op: frame.OpPing, payload: "p"},
			{op: frame.OpContinuation, flags: frame.More, payload: cbig[1001:1002] + "\x00\x00\xff\xff"},
			{op: frame.OpContinuation, payload: cbig[1002:]}},
			want: result{Events: []ev{
				{Kind: conn.EventData, Opcode: frame.OpText, RSV: rsv1, Data: decode(cbig[:1000])},
				ping("p"),
				{Kind: conn.EventData, Opcode: frame.OpText, Final: true, Data: big[len(decode(cbig[:1000])):]}},
				Out: []out{{frame.OpPong, "p"}}},
			wantEnds: 1},
		{name: "uncompressed message with inflater set", frames: []fr{{op: frame.OpText, payload: "plain"}, {op: frame.OpText, flags: rsv1, payload: compress("x")}},
			want: result{Events: []ev{text("plain"), {Kind: conn.EventData, Opcode: frame.OpText, Final: true, RSV: rsv1, Data: "x"}}}, wantEnds: 1},
		{name: "decompressed size over the limit", cfg: conn.Config{MaxMessageSize: 9999},
			frames: []fr{{op: frame.OpBinary, flags: rsv1, payload: cbig}},
			want:   failed(frame.ErrMessageTooBig)},
		{name: "compressed size within the limit is not enough", cfg: conn.Config{MaxMessageSize: 300, MaxFrameSize: 1000},
			frames: []fr{{op: frame.OpBinary, flags: rsv1, payload: compress(strings.Repeat("z", 301))}},
			want:   failed(frame.ErrMessageTooBig)},
		{name: "invalid UTF-8 after inflating", frames: []fr{{op: frame.OpText, flags: rsv1, payload: compress("ok\xff")}},
			want: failed(frame.ErrInvalidUTF8)},
		{name: "text cut mid code point", frames: []fr{{op: frame.OpText, flags: rsv1, payload: compress("ok\xce")}},
			want: failed(frame.ErrInvalidUTF8)},
		{name: "corrupt stream", frames: []fr{{op: frame.OpBinary, flags: rsv1, payload: "\x00\x01"}},
			want: failed(&frame.ProtocolError{Code: frame.CloseInvalidPayload, Reason: "inflate: " + errRLE.Error()})},
		{name: "malformed at message end", failEnd: true, frames: []fr{{op: frame.OpBinary, flags: rsv1, payload: compress("abc")}, {op: frame.OpText, payload: "never"}},
			want: failed(&frame.ProtocolError{Code: frame.CloseInvalidPayload, Reason: "inflate: " + errRLEEnd.Error()})},
		{name: "RSV1 on continuation", frames: []fr{{op: frame.OpBinary, flags: rsv1 | frame.More, payload: compress("a")}, {op: frame.OpContinuation, flags: rsv1}},
			want: failed(frame.ErrReservedBits)},
	}
	for _, tt := range tests {
		for _, role := range roles {
			t.Run(tt.name+"/"+role.String(), func(t *testing.T) {
				stream := build(role, tt.frames...)
				var inf *rle
				mk := func() *conn.Conn {
					cfg := tt.cfg
					cfg.Role = role
					cfg.AllowedRSV = frame.RSV1
					inf = &rle{failEnd: tt.failEnd}
					cfg.Inflater = inf
					cfg.InflateBufferSize = 64
					return mustNew(t, cfg)
				}
				runAll(t, mk, stream, tt.want)
				if tt.want.Err == "" && inf.ends != tt.wantEnds {
					t.Errorf("EndMessage called %d times, want %d", inf.ends, tt.wantEnds)
				}
			})
		}
	}
}

func decode(c string) string {
	r := &rle{}
	out := make([]byte, 1<<20)
	n, _, err := r.Inflate(out, []byte(c))
	if err != nil {
		panic(err)
	}
	return string(out[:n])
}

// badInflater breaks the Inflater contract: it never makes progress.
type badInflater struct{}

func (badInflater) Inflate(out, in []byte) (int, int, error) { return 0, 0, nil }

func TestInflaterNoProgress(t *testing.T) {
	c := mustNew(t, conn.Config{Role: conn.Client, AllowedRSV: frame.RSV1, Inflater: badInflater{}})
	_, _, err := c.Next(build(conn.Client, fr{op: frame.OpBinary, flags: frame.RSV1, payload: "abc"}))
	var pe *frame.ProtocolError
	if !errors.As(err, &pe) || pe.Code != frame.CloseInternalError {
		t.Fatalf("err = %v, want a 1011 protocol error", err)
	}
	if diff := cmp.Diff(conn.StateClosed, c.State()); diff != "" {
		t.Fatal(diff)
	}
}
