package fuzz

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

func init() {
	// ops: pairs of bytes; see FuzzConnWrite.
	op := func(action, opcode, flags, size byte) []byte {
		return []byte{action<<4 | opcode, size<<5 | flags}
	}
	const (
		frameOp  = 0
		headerOp = 10
		closeOp  = 12
		feedOp   = 13
		failOp   = 15
		more     = byte(frame.More)
		rsv1     = byte(frame.RSV1)
	)
	addSeeds("FuzzConnWrite",
		seed{"text", []any{op(frameOp, 1, 0, 1), []byte{}, byte(0)}},
		seed{"fragmented-with-ping", []any{cat(op(frameOp, 1, more, 2), op(frameOp, 9, 0, 1), op(headerOp, 0, more, 3), op(frameOp, 0, 0, 0)), []byte{}, byte(0x08)}},
		seed{"data-while-open", []any{cat(op(frameOp, 2, more, 1), op(frameOp, 2, 0, 1)), []byte{}, byte(0)}},
		seed{"continuation-first", []any{op(frameOp, 0, 0, 1), []byte{}, byte(0)}},
		seed{"control-too-long", []any{op(frameOp, 9, 0, 4), []byte{}, byte(0)}},
		seed{"close-then-write", []any{cat(op(closeOp, 0, 0, 1), op(frameOp, 1, 0, 1)), []byte{}, byte(0x08)}},
		seed{"close-bad-code", []any{op(closeOp, 3, 0, 1), []byte{}, byte(0)}},
		seed{"close-with-pong-pending", []any{cat(op(feedOp, 8, 0, 7), op(closeOp, 8, 0, 1)), clientFrame(0x89, []byte("ping")), byte(0)}},
		seed{"compressed", []any{cat(op(frameOp, 1, rsv1|more, 1), op(frameOp, 0, rsv1, 1), op(frameOp, 0, 0, 1)), []byte{}, byte(0x01)}},
		seed{"peer-ping-then-close", []any{cat(op(frameOp, 1, more, 1), op(feedOp, 0, 0, 7), op(frameOp, 0, 0, 1), op(feedOp, 0, 0, 7), op(frameOp, 10, 0, 0)),
			cat(clientFrame(0x89, []byte("hi")), clientFrame(0x88, closePayload(1001, ""))), byte(0)}},
		seed{"peer-ping-client", []any{cat(op(feedOp, 0, 0, 1), op(frameOp, 9, 0, 2), op(failOp, 1, 0, 0)),
			serverFrame(0x89, []byte("hi")), byte(0x08)}},
		seed{"reserved-and-mask", []any{cat(op(frameOp, 3, 0, 0), op(frameOp, 1, byte(frame.Mask), 0), op(frameOp, 8, 0, 0)), []byte{}, byte(0)}},
	)
}

var (
	writeSizes  = [8]int{0, 1, 2, 125, 126, 300, 65536, 7}
	closeCodes  = [8]frame.CloseCode{1000, 1001, 1011, 1005, 1006, 4999, 1004, 3000}
	failCodes   = [4]frame.CloseCode{1008, 1002, 1005, 4000}
	closeReason = [4]string{"", "bye", "\xff", strings.Repeat("r", 124)}
)

// refWriteErrs returns the errors AppendFrame/AppendHeader may return for a
// frame the application asks for (nil when it must succeed), from the
// sending rules of RFC 6455 §5.2, §5.4, §5.5, §5.5.1 and RFC 7692 §6.1.
func refWriteErrs(op frame.Opcode, flags frame.Flags, length int, allowed frame.Flags, open, closeSent bool) []error {
	var errs []error
	add := func(cond bool, err error) {
		if cond {
			errs = append(errs, err)
		}
	}
	rsv := flags & (frame.RSV1 | frame.RSV2 | frame.RSV3)
	add(flags&frame.Mask != 0, conn.ErrWriteMaskFlag)
	add(op.IsReserved(), conn.ErrWriteReservedOpcode)
	add(op == frame.OpClose, conn.ErrWriteBadClose)
	add(closeSent, conn.ErrWriteCloseSent)
	add(rsv&^allowed != 0, conn.ErrWriteRSV)
	switch {
	case op.IsControl():
		add(flags&frame.More != 0, conn.ErrWriteFragmentedControl)
		add(length > frame.MaxControlPayload, conn.ErrWriteControlTooLong)
		add(flags&frame.RSV1 != 0, conn.ErrWriteRSV)
	case op == frame.OpContinuation:
		add(!open, conn.ErrWriteNoMessage)
		add(flags&frame.RSV1 != 0, conn.ErrWriteRSV)
	default:
		add(open, conn.ErrWriteMessageOpen)
	}
	return errs
}

func errIn(err error, errs []error) bool {
	for _, e := range errs {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// FuzzConnWrite: the sending side of the state machine. ops is a program of
// 2-byte instructions: the high nibble of the first byte picks the action
// (0-9 AppendFrame, 10-11 AppendHeader plus the payload masked by the test,
// 12 AppendClose, 13-14 feed the next second-byte+1 bytes of the peer's
// stream to Next, 15 Fail), its low nibble the opcode (or: close code
// index, bit 3 set to call AppendClose before writing Pending; for a feed,
// bit 3 set to leave Pending unwritten; fail code index); the second byte
// holds the flags (low 5 bits) and a payload size index (high 3 bits).
// mode: bit 3 client role, bit 0 AllowedRSV RSV1, bit 1 RSV2|RSV3.
//
// Every write is accepted or refused exactly as an independent statement of
// the sending rules says; a refusal appends nothing and changes nothing; an
// accepted write appends exactly one frame with the requested opcode, FIN,
// RSV bits and payload, masked exactly in the client role. The whole byte
// stream the driver sends (Pending flushed before each frame of its own,
// as documented) is a valid RFC 6455 stream for the peer: an independent
// receiver model accepts it, and nothing follows a Close frame.
func FuzzConnWrite(f *testing.F) {
	f.Fuzz(func(t *testing.T, ops, stream []byte, mode byte) {
		role := conn.Server
		if mode&8 != 0 {
			role = conn.Client
		}
		var allowed frame.Flags
		if mode&1 != 0 {
			allowed |= frame.RSV1
		}
		if mode&2 != 0 {
			allowed |= frame.RSV2 | frame.RSV3
		}
		c, err := conn.New(conn.Config{Role: role, AllowedRSV: allowed})
		if err != nil {
			t.Fatal(err)
		}
		var wire []byte
		flush := func() {
			wire = append(wire, c.Pending()...)
			c.Advance(len(c.Pending()))
		}
		in := bytes.Clone(stream)
		feed := func(n int, write bool) {
			buf := in[:min(n, len(in))]
			in = in[len(buf):]
			for len(buf) > 0 {
				ev, k, err := c.Next(buf)
				buf = buf[k:]
				if write {
					flush()
				}
				if err != nil || (ev.Kind == conn.EventNone && k == 0) {
					return
				}
			}
		}
		for len(ops) >= 2 && len(wire) < 1<<20 {
			action, opc, flags, size, arg := ops[0]>>4, frame.Opcode(ops[0]&15), frame.Flags(ops[1]&31), writeSizes[ops[1]>>5], int(ops[1])
			ops = ops[2:]
			_, closeSent := c.CloseSent()
			open := c.Sending()
			switch {
			case action <= 11:
				payload := bytes.Repeat([]byte{'a' + byte(size%26)}, size)
				want := refWriteErrs(opc, flags, size, allowed, open, closeSent)
				flush() // Pending goes out before the driver's own frames
				before := len(wire)
				var h frame.Header
				if action <= 9 {
					wire, err = c.AppendFrame(wire, opc, flags, payload)
				} else {
					wire, h, err = c.AppendHeader(wire, opc, flags, int64(size))
				}
				if (err == nil) != (len(want) == 0) || err != nil && !errIn(err, want) {
					t.Fatalf("write %v flags %#x len %d (open %v, close sent %v): err %v, want one of %v", opc, flags, size, open, closeSent, err, want)
				}
				if err != nil {
					if len(wire) != before || c.Sending() != open {
						t.Fatalf("refused write changed the output or the state")
					}
					continue
				}
				if action > 9 {
					start := len(wire)
					wire = append(wire, payload...)
					if h.Masked {
						mask.Apply(h.Key, 0, wire[start:])
					}
				}
				got, n, ok, _ := refParseHeader(wire[before:])
				if !ok || before+n+size != len(wire) {
					t.Fatalf("write appended % x, not one frame of %d payload bytes", wire[before:], size)
				}
				if action > 9 && got != h {
					t.Fatalf("AppendHeader returned %+v, wrote %+v", h, got)
				}
				wantH := frame.NewHeader(opc, flags, got.Key, int64(size))
				if role == conn.Client {
					wantH.Masked, wantH.Key = true, got.Key
				}
				if got != wantH {
					t.Fatalf("wrote header %+v, want %+v", got, wantH)
				}
				p := bytes.Clone(wire[before+n:])
				if got.Masked {
					mask.Apply(got.Key, 0, p)
				}
				if !bytes.Equal(p, payload) {
					t.Fatalf("wrote payload %q, want %q", p, payload)
				}
				if opc.IsData() && c.Sending() != (flags&frame.More != 0) {
					t.Fatalf("Sending() = %v after a data frame with flags %#x", c.Sending(), flags)
				}
			case action == 12:
				code, reason := closeCodes[opc&7], closeReason[size%4]
				var cl []byte
				if opc&8 == 0 {
					flush()
					cl, err = c.AppendClose(nil, code, reason)
				} else {
					// AppendClose with Pending not yet written: a Pong not
					// started is dropped, the rest goes out before our Close.
					cl, err = c.AppendClose(nil, code, reason)
					flush()
				}
				before := len(wire)
				wire = append(wire, cl...)
				valid := code == frame.CloseNoStatus && reason == "" ||
					code.IsValidOnWire() && len(reason) <= frame.MaxCloseReason && !strings.Contains(reason, "\xff")
				if closeSent && !errors.Is(err, conn.ErrWriteCloseSent) || !closeSent && valid != (err == nil) {
					t.Fatalf("AppendClose(%v, %q) with close sent %v: %v", code, reason, closeSent, err)
				}
				if err != nil {
					if len(wire) != before {
						t.Fatalf("refused AppendClose appended bytes")
					}
					continue
				}
				got, n, ok, _ := refParseHeader(wire[before:])
				if !ok || got.Opcode != frame.OpClose || !got.Fin || got.Masked != (role == conn.Client) || before+n+int(got.Length) != len(wire) {
					t.Fatalf("AppendClose wrote % x", wire[before:])
				}
				p := bytes.Clone(wire[before+n:])
				if got.Masked {
					mask.Apply(got.Key, 0, p)
				}
				if gc, gr, perr := frame.ParseClose(p); perr != nil || gc != code || string(gr) != reason {
					t.Fatalf("AppendClose(%v, %q) payload parses as %v, %q, %v", code, reason, gc, gr, perr)
				}
				if c.Sending() {
					t.Fatalf("a message is still open for sending after Close")
				}
				if code, ok := c.CloseSent(); !ok || code != closeCodes[opc&7] {
					t.Fatalf("CloseSent() = %v, %v", code, ok)
				}
			case action <= 14:
				feed(arg+1, opc&8 == 0)
			default:
				if err := c.Fail(failCodes[opc&3], "fuzz"); err == nil {
					t.Fatalf("Fail returned nil")
				}
				if c.State() != conn.StateClosed {
					t.Fatalf("state %v after Fail", c.State())
				}
			}
		}
		flush()
		checkWireStream(t, role, allowed, wire)
	})
}

// checkWireStream checks that what a Conn of role sent is a valid stream
// for its peer: whole frames, accepted by the receiver model, nothing after
// the first Close.
func checkWireStream(t *testing.T, role conn.Role, allowed frame.Flags, wire []byte) {
	t.Helper()
	rest := wire
	for len(rest) > 0 {
		h, n, ok, _ := refParseHeader(rest)
		if !ok || int64(len(rest)-n) < h.Length {
			t.Fatalf("sent bytes end in a partial frame: % x", rest)
		}
		rest = rest[n+int(h.Length):]
		if h.Opcode == frame.OpClose && len(rest) > 0 {
			t.Fatalf("%d bytes sent after a Close frame", len(rest))
		}
	}
	peer := conn.Server
	if role == conn.Server {
		peer = conn.Client
	}
	s := connSetup{cfg: conn.Config{Role: peer, AllowedRSV: allowed}}
	if got, _ := refConn(s, wire); got.ErrCode != 0 {
		t.Fatalf("the peer would fail the connection with %v on what we sent: % x", got.ErrCode, wire)
	}
}
