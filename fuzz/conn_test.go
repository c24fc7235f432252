package fuzz

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/internal/wstest"
	"github.com/hybi/websocket/mask"
)

// Frames a client sends (masked) and a server sends (unmasked), for seeds.
func clientFrame(b0 byte, payload []byte) []byte { return wstest.Frame(b0, true, rfcKey, payload) }
func serverFrame(b0 byte, payload []byte) []byte { return wstest.Frame(b0, false, [4]byte{}, payload) }

// Compressed "Hello" (RFC 7692 §7.2.3.1), tail removed.
var deflatedHello = []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}

func connSeeds(fr func(byte, []byte) []byte, other func(byte, []byte) []byte) []seed {
	big := bytes.Repeat([]byte("a"), 300)
	return []seed{
		{"rfc-text", []any{fr(0x81, []byte("Hello")), []byte{}, byte(0)}},
		{"rfc-fragments-ping", []any{cat(fr(0x01, []byte("Hel")), fr(0x89, []byte("ping")), fr(0x80, []byte("lo"))), []byte{0}, byte(1)}},
		{"close-normal", []any{cat(fr(0x81, []byte("bye")), fr(0x88, closePayload(1000, "done")), fr(0x81, []byte("ignored"))), []byte{3}, byte(2)}},
		{"close-empty", []any{fr(0x88, nil), []byte{}, byte(0)}},
		{"close-bad-code", []any{fr(0x88, closePayload(1005, "")), []byte{}, byte(0)}},
		{"close-one-byte", []any{fr(0x88, []byte{3}), []byte{}, byte(0)}},
		{"close-bad-reason", []any{fr(0x88, closePayload(1000, "\xff")), []byte{1}, byte(0)}},
		{"autobahn-6.4.1", []any{cat(fr(0x01, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")), fr(0x00, []byte("\xf4\x90\x80\x80")), fr(0x80, []byte("edited"))), []byte{0}, byte(3)}},
		{"text-split-codepoint", []any{cat(fr(0x01, []byte("\xf0\x9f")), fr(0x80, []byte("\x98\x80"))), []byte{0}, byte(4)}},
		{"text-truncated", []any{fr(0x81, []byte("\xf0\x9f\x98")), []byte{}, byte(0)}},
		{"binary-256", []any{fr(0x82, bytes.Repeat([]byte{0xfe}, 256)), []byte{7}, byte(8)}},
		{"too-big", []any{fr(0x82, big), []byte{}, byte(0x10)}},
		{"many-fragments", []any{cat(fr(0x02, []byte("a")), fr(0x00, []byte("b")), fr(0x00, []byte("c")), fr(0x80, []byte("d"))), []byte{}, byte(0x40)}},
		{"reserved-opcode", []any{fr(0x83, nil), []byte{}, byte(0)}},
		{"rsv2", []any{fr(0xa1, []byte("x")), []byte{}, byte(0x80)}},
		{"ping-fragmented", []any{fr(0x09, nil), []byte{}, byte(0)}},
		{"ping-too-long", []any{fr(0x89, big[:126]), []byte{}, byte(0)}},
		{"continuation-first", []any{fr(0x80, []byte("x")), []byte{}, byte(0)}},
		{"message-open", []any{cat(fr(0x01, []byte("a")), fr(0x81, []byte("b"))), []byte{}, byte(0)}},
		{"wrong-masking", []any{other(0x81, []byte("Hello")), []byte{}, byte(0)}},
		{"non-minimal-length", []any{cat(nonMinimal16[:1], []byte{0xfe, 0x00, 0x05}, rfcKey[:], []byte("Hello")), []byte{}, byte(0)}},
		{"huge-length", []any{cat([]byte{0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0}, rfcKey[:]), []byte{}, byte(0)}},
		{"pings-coalesced", []any{cat(fr(0x89, []byte("1")), fr(0x89, []byte("2")), fr(0x89, []byte("3")), fr(0x8a, []byte("pong"))), []byte{}, byte(0x02)}},
		{"deflate-hello", []any{fr(0xc1, deflatedHello), []byte{}, byte(0x30)}},
		{"deflate-fragmented", []any{cat(fr(0x41, deflatedHello[:3]), fr(0x80, deflatedHello[3:])), []byte{1}, byte(0x31)}},
		{"deflate-rsv1-continuation", []any{cat(fr(0x41, deflatedHello[:3]), fr(0xc0, deflatedHello[3:])), []byte{}, byte(0x30)}},
		{"deflate-bomb", []any{fr(0xc2, fixedHuffmanBomb(40)), []byte{200}, byte(0x34)}},
	}
}

func init() {
	addSeeds("FuzzConnServer", connSeeds(clientFrame, serverFrame)...)
	addSeeds("FuzzConnClient", connSeeds(serverFrame, clientFrame)...)
	chunking := connSeeds(clientFrame, serverFrame)
	for _, s := range connSeeds(serverFrame, clientFrame) {
		s.name = "client-" + s.name
		s.vals[2] = s.vals[2].(byte) | 0x08 // client role
		chunking = append(chunking, s)
	}
	addSeeds("FuzzConnChunking", chunking...)
}

// connSetup is the configuration and driver behaviour a mode byte selects.
//
//	bit 0-1  drain policy: 0 all Pending after every call, 1 after every
//	         input chunk, 2 at most 7 bytes after every call, 3 at the end
//	bit 2    use ReadPayload for payload bytes when PayloadRemaining > 0
//	bit 3    client role (FuzzConnChunking only; the role targets fix it)
//	bit 4-5  limits: 0 defaults, 1 MaxMessageSize 200, 2 MaxFrameSize 64,
//	         3 MaxMessageSize 1000 and MaxFragments 3
//	bit 6    AllowedRSV RSV1, delivered raw
//	bit 7    AllowedRSV RSV2|RSV3
//
// Limits 3 with bit 6 clear selects permessage-deflate instead: RSV1
// allowed and a deflate.Decompressor as Inflater (context takeover unless
// bit 0 is set), so that it is reachable from small mode values (0x30).
type connSetup struct {
	cfg         conn.Config
	drain       int
	readPayload bool
	inflate     bool
	takeover    bool // with inflate: the Decompressor keeps its window between messages
}

func setup(role conn.Role, mode byte) connSetup {
	s := connSetup{drain: int(mode & 3), readPayload: mode&4 != 0}
	s.cfg.Role = role
	switch mode >> 4 & 3 {
	case 1:
		s.cfg.MaxMessageSize = 200
	case 2:
		s.cfg.MaxFrameSize = 64
	case 3:
		s.cfg.MaxMessageSize, s.cfg.MaxFragments = 1000, 3
	}
	if mode&0x40 != 0 {
		s.cfg.AllowedRSV |= frame.RSV1
	}
	if mode&0x80 != 0 {
		s.cfg.AllowedRSV |= frame.RSV2 | frame.RSV3
	}
	if mode>>4&3 == 3 && mode&0x40 == 0 {
		s.cfg.AllowedRSV |= frame.RSV1
		s.cfg.Inflater = deflate.NewDecompressor(mode&1 != 0)
		s.inflate, s.takeover = true, mode&1 == 0
	}
	return s
}

func (s connSetup) limits() (maxMsg, maxFrame int64, maxFrags int) {
	maxMsg, maxFrame, maxFrags = s.cfg.MaxMessageSize, s.cfg.MaxFrameSize, s.cfg.MaxFragments
	if maxMsg == 0 {
		maxMsg = conn.DefaultMaxMessageSize
	}
	if maxFrame == 0 {
		maxFrame = maxMsg
	}
	if maxFrags == 0 {
		maxFrags = conn.DefaultMaxFragments
	}
	return
}

// outcome is what a run of the machine did, normalized so that runs with
// different chunkings compare equal: message data is joined per message.
type outcome struct {
	Events   []normEvent
	Partial  []byte // data of a message still open (or cut by a failure)
	Open     bool   // a message is open
	ErrCode  frame.CloseCode
	Err      string
	State    conn.State
	Init     conn.Initiator
	Sent     []sentFrame // decoded Pending output
	CloseIn  frame.CloseCode
	CloseOut frame.CloseCode
}

type normEvent struct {
	Kind conn.EventKind
	Op   frame.Opcode
	Data string
	Code frame.CloseCode
}

type sentFrame struct {
	Op      frame.Opcode
	Payload string
}

// drive feeds stream to a new machine in chunks from splits, the way a
// driver with a read buffer does, and checks every event and every byte of
// output on the way.
func drive(t *testing.T, s connSetup, stream, splits []byte) outcome {
	t.Helper()
	c, err := conn.New(s.cfg)
	if err != nil {
		t.Fatalf("conn.New(%+v): %v", s.cfg, err)
	}
	maxMsg, _, _ := s.limits()
	var o outcome
	var out []byte // everything taken from Pending
	var msg []byte
	var msgOp frame.Opcode
	var text utf8Stream
	drainN := func(limit int) {
		p := c.Pending()
		if len(p) > 512 {
			t.Fatalf("Pending holds %d bytes", len(p))
		}
		n := min(len(p), limit)
		out = append(out, p[:n]...)
		c.Advance(n)
	}
	afterCall := func() {
		switch s.drain {
		case 0:
			drainN(1 << 30)
		case 2:
			drainN(7)
		}
	}
	handle := func(ev conn.Event) {
		switch ev.Kind {
		case conn.EventNone:
			return
		case conn.EventData:
			if ev.Opcode != frame.OpText && ev.Opcode != frame.OpBinary {
				t.Fatalf("data event with opcode %v", ev.Opcode)
			}
			if ev.First != !o.Open {
				t.Fatalf("data event First=%v with a message open=%v", ev.First, o.Open)
			}
			if o.Open && ev.Opcode != msgOp {
				t.Fatalf("message opcode changed from %v to %v", msgOp, ev.Opcode)
			}
			if len(ev.Data) == 0 && !ev.Final {
				t.Fatalf("empty data event without Final")
			}
			if !o.Open {
				text = utf8Stream{}
			}
			o.Open, msgOp = true, ev.Opcode
			msg = append(msg, ev.Data...)
			if int64(len(msg)) > maxMsg {
				t.Fatalf("message of %d bytes delivered, MaxMessageSize %d", len(msg), maxMsg)
			}
			if ev.Opcode == frame.OpText && !text.add(ev.Data) {
				t.Fatalf("invalid UTF-8 delivered in a text message: %q", msg)
			}
			if ev.Final {
				if ev.Opcode == frame.OpText && !text.complete() {
					t.Fatalf("text message %q is not UTF-8", msg)
				}
				o.Events = append(o.Events, normEvent{Kind: conn.EventData, Op: ev.Opcode, Data: string(msg)})
				msg, o.Open = nil, false
			}
		case conn.EventPing, conn.EventPong, conn.EventClose:
			if len(ev.Data) > frame.MaxControlPayload {
				t.Fatalf("%v event with %d bytes", ev.Kind, len(ev.Data))
			}
			if ev.Kind == conn.EventClose {
				if ev.Code != frame.CloseNoStatus && !ev.Code.IsValidOnWire() {
					t.Fatalf("close event with code %v", ev.Code)
				}
				if !utf8.Valid(ev.Data) || len(ev.Data) > frame.MaxCloseReason {
					t.Fatalf("close reason %q", ev.Data)
				}
				msg, o.Open = nil, false // an open message is abandoned
			}
			o.Events = append(o.Events, normEvent{Kind: ev.Kind, Op: ev.Opcode, Data: string(ev.Data), Code: ev.Code})
		default:
			t.Fatalf("event kind %v", ev.Kind)
		}
	}

	var buf []byte
	var ferr error
	for _, size := range append(chunks(len(stream), splits), 0) {
		buf = append(buf, stream[:size]...)
		stream = stream[size:]
		for ferr == nil {
			if s.readPayload && c.PayloadRemaining() > 0 && len(buf) > 0 {
				k := int(min(c.PayloadRemaining(), int64(len(buf))))
				ev, err := c.ReadPayload(buf[:k])
				afterCall()
				buf = buf[k:]
				ferr = err
				if err == nil {
					handle(ev)
				}
				continue
			}
			ev, n, err := c.Next(buf)
			afterCall()
			if n < 0 || n > len(buf) {
				t.Fatalf("Next consumed %d of %d bytes", n, len(buf))
			}
			buf = buf[n:]
			if err != nil {
				ferr = err
				break
			}
			handle(ev)
			if ev.Kind == conn.EventNone && n == 0 {
				break
			}
		}
		if s.drain == 1 {
			drainN(1 << 30)
		}
		if ferr != nil {
			break
		}
	}
	if ferr != nil {
		if _, _, again := c.Next([]byte{0x81}); again != ferr {
			t.Fatalf("error not sticky: %v then %v", ferr, again)
		}
	}
	drainN(1 << 30)
	if len(c.Pending()) != 0 {
		t.Fatalf("Pending not empty after draining")
	}

	o.Partial = msg
	if ferr != nil {
		var pe *frame.ProtocolError
		if !errors.As(ferr, &pe) {
			t.Fatalf("Next error %v is not a *frame.ProtocolError", ferr)
		}
		switch pe.Code {
		case frame.CloseProtocolError, frame.CloseInvalidPayload, frame.CloseMessageTooBig:
		default:
			t.Fatalf("peer input failed the connection with code %v: %v", pe.Code, ferr)
		}
		o.ErrCode, o.Err = pe.Code, ferr.Error()
		if c.State() != conn.StateClosed {
			t.Fatalf("failed connection in state %v", c.State())
		}
	}
	o.State, o.Init = c.State(), c.Initiator()
	if code, _, ok := c.CloseReceived(); ok {
		o.CloseIn = code
	}
	if code, ok := c.CloseSent(); ok {
		o.CloseOut = code
	}
	o.Sent = checkSent(t, s.cfg.Role, out)
	checkVerdict(t, o)
	return o
}

// checkSent parses everything the machine emitted: whole frames only, masked
// exactly when the role is Client, Pong or Close only, at most one Close and
// nothing after it.
func checkSent(t *testing.T, role conn.Role, out []byte) []sentFrame {
	t.Helper()
	var sent []sentFrame
	for len(out) > 0 {
		h, n, ok, _ := refParseHeader(out)
		if !ok || int64(len(out)-n) < h.Length {
			t.Fatalf("emitted bytes are not whole frames: % x", out)
		}
		if !refCheck(h, role == conn.Client, 0) {
			t.Fatalf("emitted frame %+v breaks the rules for a %v", h, role)
		}
		if h.Opcode != frame.OpPong && h.Opcode != frame.OpClose {
			t.Fatalf("machine emitted a %v frame", h.Opcode)
		}
		if len(sent) > 0 && sent[len(sent)-1].Op == frame.OpClose {
			t.Fatalf("frame after Close")
		}
		p := bytes.Clone(out[n : n+int(h.Length)])
		if h.Masked {
			mask.Apply(h.Key, 0, p)
		}
		if h.Opcode == frame.OpClose {
			if _, _, err := frame.ParseClose(p); err != nil {
				t.Fatalf("emitted Close payload % x: %v", p, err)
			}
		}
		sent = append(sent, sentFrame{h.Opcode, string(p)})
		out = out[n+int(h.Length):]
	}
	return sent
}

// checkVerdict checks that the terminal state carries a close code that fits
// the situation (RFC 6455 §7.1.5, §7.1.7, §7.4.1).
func checkVerdict(t *testing.T, o outcome) {
	t.Helper()
	var closeFrames []sentFrame
	for _, f := range o.Sent {
		if f.Op == frame.OpClose {
			closeFrames = append(closeFrames, f)
		}
	}
	sentCode := func() frame.CloseCode {
		if len(closeFrames) != 1 {
			t.Fatalf("%d Close frames emitted, want 1 (outcome %+v)", len(closeFrames), o)
		}
		p := closeFrames[0].Payload
		if p == "" {
			return frame.CloseNoStatus
		}
		return frame.CloseCode(binary.BigEndian.Uint16([]byte(p)))
	}
	switch {
	case o.CloseIn != 0:
		// The peer's Close came first: echo its code (§5.5.1), state closed.
		if o.ErrCode != 0 || o.Init != conn.Peer || o.State != conn.StateClosed || o.CloseOut != o.CloseIn || sentCode() != o.CloseIn {
			t.Fatalf("after the peer's Close %v: %+v", o.CloseIn, o)
		}
	case o.ErrCode != 0:
		// We failed the connection: a Close with the error's code.
		if o.Init != conn.Local || o.CloseOut != o.ErrCode || sentCode() != o.ErrCode {
			t.Fatalf("failed with %v: %+v", o.ErrCode, o)
		}
	default:
		if o.State != conn.StateOpen || o.Init != conn.None || len(closeFrames) != 0 || o.CloseOut != 0 {
			t.Fatalf("no Close and no error, yet %+v", o)
		}
	}
}

// refConn is an independent model of what a receiver must do with stream
// (RFC 6455 §5, §7, §8.1 and the Config limits): the events, the open
// message and the verdict. With an Inflater (s.inflate), messages whose
// first frame has RSV1 are decompressed at their end with compress/flate
// (RFC 7692 §7.2.2, the window kept between messages when s.takeover);
// openCompressed reports a compressed message cut off by the end of the
// stream, whose problems the machine may find before the model does.
func refConn(s connSetup, stream []byte) (o outcome, pings []string) {
	o, pings, _ = refConnInflate(s, stream)
	return o, pings
}

// modelGaveUp marks a model run that stopped at a message inflating to more
// than the 1 MiB it decompresses.
const modelGaveUp = "model: message too large to inflate"

func refConnInflate(s connSetup, stream []byte) (o outcome, pings []string, openCompressed bool) {
	maxMsg, maxFrame, maxFrags := s.limits()
	wantMasked := s.cfg.Role == conn.Server
	var msgOp frame.Opcode
	var text utf8Stream
	frags := 0
	compressed := false
	var history []byte // decompressed output of earlier messages (context takeover)
	defer func() { openCompressed = o.Open && compressed }()
	// Processing stops at the peer's Close, so a failure always sends the
	// first Close frame.
	fail := func(code frame.CloseCode) {
		o.ErrCode, o.CloseOut, o.Init, o.State = code, code, conn.Local, conn.StateClosed
	}
	for len(stream) > 0 {
		h, n, ok, short := refParseHeader(stream)
		if short {
			break
		}
		if !ok {
			fail(frame.CloseProtocolError)
			return
		}
		stream = stream[n:]
		allowed := s.cfg.AllowedRSV
		if h.Opcode >= 8 || h.Opcode == frame.OpContinuation {
			allowed &^= frame.RSV1 // RFC 7692 §6.1
		}
		if !refCheck(h, wantMasked, allowed) {
			fail(frame.CloseProtocolError)
			return
		}
		if h.Opcode >= 8 {
			if int64(len(stream)) < h.Length {
				break
			}
			p := bytes.Clone(stream[:h.Length])
			stream = stream[h.Length:]
			if h.Masked {
				for i := range p {
					p[i] ^= h.Key[i%4]
				}
			}
			switch h.Opcode {
			case frame.OpPing:
				o.Events = append(o.Events, normEvent{conn.EventPing, frame.OpPing, string(p), 0})
				pings = append(pings, string(p))
			case frame.OpPong:
				o.Events = append(o.Events, normEvent{conn.EventPong, frame.OpPong, string(p), 0})
			case frame.OpClose:
				code := frame.CloseNoStatus
				if len(p) == 1 {
					fail(frame.CloseProtocolError)
					return
				}
				if len(p) >= 2 {
					code = frame.CloseCode(binary.BigEndian.Uint16(p))
					if !(code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999) {
						fail(frame.CloseProtocolError)
						return
					}
					if !utf8.Valid(p[2:]) {
						fail(frame.CloseInvalidPayload)
						return
					}
					p = p[2:]
				}
				o.Events = append(o.Events, normEvent{conn.EventClose, frame.OpClose, string(p), code})
				o.CloseIn, o.CloseOut, o.Init, o.State = code, code, conn.Peer, conn.StateClosed
				o.Partial, o.Open = nil, false
				return // RFC 6455 §5.5.1: nothing after a Close is processed
			}
			continue
		}
		if h.Opcode == frame.OpContinuation {
			if !o.Open {
				fail(frame.CloseProtocolError)
				return
			}
		} else {
			if o.Open {
				fail(frame.CloseProtocolError)
				return
			}
			o.Open, msgOp, o.Partial, frags = true, h.Opcode, nil, 0
			text = utf8Stream{}
			compressed = s.inflate && h.RSV1
		}
		frags++
		switch {
		case h.Length > maxFrame, frags > maxFrags, !compressed && int64(len(o.Partial))+h.Length > maxMsg:
			fail(frame.CloseMessageTooBig)
			return
		}
		avail := min(h.Length, int64(len(stream)))
		p := bytes.Clone(stream[:avail])
		stream = stream[avail:]
		if h.Masked {
			for i := range p {
				p[i] ^= h.Key[i%4]
			}
		}
		o.Partial = append(o.Partial, p...)
		if compressed {
			dict := history[max(0, len(history)-32<<10):]
			limit := int(min(maxMsg+1, 1<<20))
			if avail < h.Length || !h.Fin {
				// The machine inflates as bytes arrive: corrupt data, too
				// much output or bad UTF-8 fail the connection before the
				// message ends (compress/flate also returns all it could
				// decode before an error).
				out, err := refInflateDict(o.Partial, dict, limit)
				var corrupt flate.CorruptInputError
				switch {
				case len(out) >= limit && int64(limit) <= maxMsg:
					o.Err = modelGaveUp
					return
				case int64(len(out)) > maxMsg:
					fail(frame.CloseMessageTooBig)
					return
				case errors.As(err, &corrupt):
					fail(frame.CloseInvalidPayload)
					return
				case msgOp == frame.OpText && failPos(out) >= 0:
					fail(frame.CloseInvalidPayload)
					return
				}
				if avail < h.Length {
					break
				}
				continue
			}
			// RFC 7692 §7.2.2: append 00 00 ff ff and inflate; the
			// message must end at a block boundary (see
			// endsAtBlockBoundary: two different empty final blocks after
			// the tail both decode cleanly to the same output).
			msg := cat(o.Partial, deflate.Tail[:])
			out, err := refInflateDict(cat(msg, []byte{0x03, 0x00}), dict, limit)
			if out2, err2 := refInflateDict(cat(msg, []byte{0x01, 0x00, 0x00, 0xff, 0xff}), dict, limit); err == nil && (err2 != nil || !bytes.Equal(out, out2)) {
				err = errors.New("model: message does not end at a block boundary")
			}
			if len(out) >= limit && int64(limit) <= maxMsg {
				o.Err = modelGaveUp
				return
			}
			if err != nil {
				// The Inflater's documented leniency: an empty payload,
				// and a payload ending with a final block without the
				// 0x00 of RFC 7692 §7.2.3.4, are whole messages.
				if len(o.Partial) == 0 {
					out, err = nil, nil
				} else if out2, err2 := refInflateDict(o.Partial, dict, limit); err2 == nil {
					out, err = out2, nil
				}
			}
			switch {
			case int64(len(out)) > maxMsg:
				fail(frame.CloseMessageTooBig)
				return
			case err != nil:
				fail(frame.CloseInvalidPayload)
				return
			case msgOp == frame.OpText && !utf8.Valid(out):
				fail(frame.CloseInvalidPayload)
				return
			}
			if s.takeover {
				history = append(history, out...)
			}
			o.Events = append(o.Events, normEvent{conn.EventData, msgOp, string(out), 0})
			o.Open, o.Partial, compressed = false, nil, false
			continue
		}
		if msgOp == frame.OpText && !text.add(p) {
			fail(frame.CloseInvalidPayload)
			return
		}
		if avail < h.Length {
			break
		}
		if h.Fin {
			if msgOp == frame.OpText && !text.complete() {
				fail(frame.CloseInvalidPayload)
				return
			}
			o.Events = append(o.Events, normEvent{conn.EventData, msgOp, string(o.Partial), 0})
			o.Open, o.Partial = false, nil
		}
	}
	return
}

// compareRef checks a run of the machine against refConn.
func compareRef(t *testing.T, s connSetup, stream []byte, got outcome) {
	t.Helper()
	want, pings := refConn(s, stream)
	if got.ErrCode != want.ErrCode {
		t.Fatalf("verdict: close code %v (%s), reference %v\nstream % x", got.ErrCode, got.Err, want.ErrCode, stream)
	}
	if diff := cmp.Diff(want.Events, got.Events); diff != "" {
		t.Fatalf("events (-reference +machine):\n%s\nstream % x", diff, stream)
	}
	if got.ErrCode != 0 {
		// A failure may cut the message anywhere before the offending byte.
		if !bytes.HasPrefix(want.Partial, got.Partial) {
			t.Fatalf("failed message delivered %q, not a prefix of %q", got.Partial, want.Partial)
		}
	} else if !bytes.Equal(got.Partial, want.Partial) {
		t.Fatalf("open message delivered %q, reference %q", got.Partial, want.Partial)
	}
	if got.CloseIn != want.CloseIn || got.CloseOut != want.CloseOut || got.Init != want.Init {
		t.Fatalf("close state %+v, reference %+v", got, want)
	}
	// Every Pong answers a Ping with its exact payload (§5.5.3); after
	// draining every call nothing is coalesced, so they are all answered.
	var pongs []string
	for _, f := range got.Sent {
		if f.Op == frame.OpPong {
			pongs = append(pongs, f.Payload)
		}
	}
	if s.drain == 0 {
		if diff := cmp.Diff(pings, pongs, cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
			t.Fatalf("Pongs (-pings +pongs):\n%s", diff)
		}
	} else if len(pongs) > 0 {
		if pongs[len(pongs)-1] != pings[len(pings)-1] {
			t.Fatalf("last Pong %q does not answer the last Ping %q", pongs[len(pongs)-1], pings[len(pings)-1])
		}
		for i, j := 0, 0; i < len(pongs); i++ {
			for j < len(pings) && pings[j] != pongs[i] {
				j++
			}
			if j == len(pings) {
				t.Fatalf("Pongs %q are not a subsequence of Pings %q", pongs, pings)
			}
			j++
		}
	}
}

func fuzzRole(f *testing.F, role conn.Role) {
	f.Fuzz(func(t *testing.T, stream, splits []byte, mode byte) {
		s := setup(role, mode)
		got := drive(t, s, bytes.Clone(stream), splits)
		if !s.inflate {
			compareRef(t, s, stream, got)
			checkNoAllocs(t, s, stream, splits)
		} else {
			compareRefInflate(t, s, stream, got)
		}
	})
}

// compareRefInflate checks a run with permessage-deflate against the model.
// The machine inflates as the bytes arrive and may find a problem (corrupt
// data, too big, bad UTF-8) before the end of the message, and a message
// with several problems may be failed with either code; so: the same
// completed messages and control events, an error exactly when the model
// finds one (or the stream ends inside a compressed message), the same code
// for failures outside compressed data.
func compareRefInflate(t *testing.T, s connSetup, stream []byte, got outcome) {
	t.Helper()
	want, _, openCompressed := refConnInflate(s, stream)
	if want.Err == modelGaveUp {
		return
	}
	if diff := cmp.Diff(want.Events, got.Events); diff != "" {
		t.Fatalf("events (-reference +machine):\n%s\nstream % x", diff, stream)
	}
	payloadCode := func(c frame.CloseCode) bool {
		return c == frame.CloseInvalidPayload || c == frame.CloseMessageTooBig
	}
	switch {
	case got.ErrCode == want.ErrCode:
	case want.ErrCode == 0 && openCompressed && payloadCode(got.ErrCode):
	case payloadCode(want.ErrCode) && payloadCode(got.ErrCode):
	default:
		t.Fatalf("verdict: close code %v (%s), reference %v\nstream % x", got.ErrCode, got.Err, want.ErrCode, stream)
	}
}

// FuzzConnServer: the state machine as a server, fed arbitrary bytes in
// arbitrary chunks under every drain policy and limit configuration. Every
// event is well-formed (messages start with First and end with one Final,
// text is UTF-8 at every point, sizes within MaxMessageSize, control data
// ≤ 125 bytes), the error is sticky and a *frame.ProtocolError with 1002,
// 1007 or 1009, Pending never exceeds 512 bytes, everything emitted parses as
// whole unmasked Pong/Close frames with at most one Close, last, carrying
// the code the situation calls for (echo of the peer's, or the failure's).
// Without an Inflater, the events, the open message, the verdict and the
// Pongs equal those of an independent model of RFC 6455, and the machine
// allocates nothing after New (checkNoAllocs).
func FuzzConnServer(f *testing.F) { fuzzRole(f, conn.Server) }

// FuzzConnClient: FuzzConnServer for the client role (incoming frames must be
// unmasked, everything emitted is masked).
func FuzzConnClient(f *testing.F) { fuzzRole(f, conn.Client) }

// FuzzConnChunking: the events (message data joined per message), the
// verdict, the close state and the frames emitted for a stream do not depend
// on how it is chunked, nor on whether payload goes through ReadPayload: a
// whole-buffer feed is compared with the chunking from splits. With an
// Inflater too.
func FuzzConnChunking(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream, splits []byte, mode byte) {
		role := conn.Server
		if mode&8 != 0 {
			role = conn.Client
		}
		whole := setup(role, mode&^7) // drain every call, Next only
		split := setup(role, mode&^3) // drain every call, ReadPayload per bit 2
		a := drive(t, whole, bytes.Clone(stream), nil)
		b := drive(t, split, bytes.Clone(stream), splits)
		if a.ErrCode != 0 || b.ErrCode != 0 {
			// The data delivered before a failure depends on the chunking;
			// the verdict does not.
			if !bytes.HasPrefix(a.Partial, b.Partial) && !bytes.HasPrefix(b.Partial, a.Partial) {
				t.Fatalf("partial messages %q and %q diverge", a.Partial, b.Partial)
			}
			a.Partial, b.Partial, a.Open, b.Open = nil, nil, false, false
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("chunking changes the outcome (-whole +chunked):\n%s\nstream % x", diff, stream)
		}
	})
}

// checkNoAllocs feeds stream to a machine in the chunks from splits with a
// driver that allocates nothing itself (the unconsumed input is a window of
// stream, Pending is drained after every call) and requires the machine to
// allocate nothing either: its memory is what New allocated, whatever the
// peer sends (limits are checked on announced lengths, control frames go
// to fixed buffers, Pending has a fixed size).
func checkNoAllocs(t *testing.T, s connSetup, stream, splits []byte) {
	t.Helper()
	if raceEnabled {
		return // the race detector's sync.Pool drops the pooled control buffers
	}
	c, err := conn.New(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	sizes := chunks(len(stream), splits)
	work := make([]byte, len(stream)) // Next unmasks in place
	feed := func() {
		c.Reset()
		copy(work, stream)
		from, to := 0, 0
		for _, size := range sizes {
			to += size
			for {
				ev, n, err := c.Next(work[from:to])
				c.Advance(len(c.Pending()))
				from += n
				if err != nil {
					return
				}
				if ev.Kind == conn.EventNone && n == 0 {
					break
				}
			}
		}
	}
	if !allocFree(feed) {
		t.Fatalf("the machine allocates on % x", stream)
	}
}

// allocFree reports whether f allocates nothing. testing.AllocsPerRun counts
// every allocation in the process, and a fuzzing worker has goroutines of
// its own, so a nonzero count is confirmed over 20 runs (whose average is
// truncated: a stray allocation or two in the process does not count, one
// per run does) before it is believed.
func allocFree(f func()) bool {
	return testing.AllocsPerRun(1, f) == 0 || testing.AllocsPerRun(20, f) == 0
}
