package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

func init() {
	addSeeds("FuzzParseHeader",
		seed{"rfc-text-unmasked", []any{rfcTextUnmasked}},
		seed{"rfc-text-masked", []any{rfcTextMasked}},
		seed{"rfc-fragment-1", []any{rfcFragment1}},
		seed{"rfc-fragment-2", []any{rfcFragment2}},
		seed{"rfc-ping", []any{rfcPingUnmasked}},
		seed{"rfc-pong-masked", []any{rfcPongMasked}},
		seed{"rfc-256", []any{rfc256Header}},
		seed{"rfc-64k", []any{rfc64KHeader}},
		seed{"max-length", []any{maxLenHeader}},
		seed{"length-overflow", []any{overflowHeader}},
		seed{"non-minimal-16", []any{nonMinimal16}},
		seed{"non-minimal-64", []any{nonMinimal64}},
		seed{"masked-64k", []any{cat(rfc64KHeader[:1], []byte{0xff}, rfc64KHeader[2:], rfcKey[:])}},
		seed{"reserved-opcode-rsv", []any{[]byte{0x7b, 0x80, 1, 2, 3, 4}}},
		seed{"empty", []any{[]byte{}}},
	)
	addSeeds("FuzzAppendHeader",
		seed{"rfc-text-masked", []any{byte(0x81), true, uint32(0x37fa213d), int64(5)}},
		seed{"len-125", []any{byte(0x82), false, uint32(0), int64(125)}},
		seed{"len-126", []any{byte(0x02), true, uint32(1), int64(126)}},
		seed{"len-65535", []any{byte(0x82), false, uint32(0), int64(65535)}},
		seed{"len-65536", []any{byte(0x80), true, uint32(0xffffffff), int64(65536)}},
		seed{"len-max", []any{byte(0xff), false, uint32(0), int64(math.MaxInt64)}},
		seed{"len-negative", []any{byte(0x88), false, uint32(0), int64(-1)}},
	)
	addSeeds("FuzzClose",
		seed{"empty", []any{[]byte{}}},
		seed{"one-byte", []any{[]byte{0x03}}},
		seed{"normal", []any{closePayload(1000, "")}},
		seed{"going-away-reason", []any{closePayload(1001, "bye")}},
		seed{"no-status-on-wire", []any{closePayload(1005, "")}},
		seed{"reserved-1004", []any{closePayload(1004, "")}},
		seed{"app-4999", []any{closePayload(4999, "ok")}},
		seed{"app-5000", []any{closePayload(5000, "")}},
		seed{"bad-utf8", []any{closePayload(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")}},
		seed{"long-reason", []any{closePayload(1000, string(bytes.Repeat([]byte("*"), 123)))}},
		seed{"too-long-reason", []any{closePayload(1000, string(bytes.Repeat([]byte("*"), 124)))}},
	)
	addSeeds("FuzzAppendClose",
		seed{"normal", []any{uint16(1000), ""}},
		seed{"no-status", []any{uint16(1005), ""}},
		seed{"no-status-reason", []any{uint16(1005), "x"}},
		seed{"abnormal", []any{uint16(1006), ""}},
		seed{"tls", []any{uint16(1015), ""}},
		seed{"app", []any{uint16(3000), "κόσμε"}},
		seed{"bad-utf8", []any{uint16(1000), "\xff"}},
		seed{"reason-124", []any{uint16(1000), string(bytes.Repeat([]byte("a"), 124))}},
	)
	addSeeds("FuzzMask",
		seed{"rfc-hello", []any{[]byte("Hello"), uint32(0x37fa213d), byte(0), byte(0), []byte{}}},
		seed{"long-unaligned", []any{bytes.Repeat([]byte{0xa5, 0x5a, 0x00}, 100), uint32(0x01020304), byte(3), byte(7), []byte{2, 40, 0, 130}}},
		seed{"byte-at-a-time", []any{[]byte("0123456789abcdef0123456789abcdef"), uint32(0xdeadbeef), byte(1), byte(1), []byte{0}}},
	)
}

// refParseHeader is an independent statement of the RFC 6455 §5.2 header
// layout: it returns the header, its size, and whether the bytes are
// complete and structurally valid (ok) or merely incomplete (short).
func refParseHeader(b []byte) (h frame.Header, n int, ok, short bool) {
	if len(b) < 2 {
		return h, 0, false, true
	}
	h.Fin = b[0]>>7 == 1
	h.RSV1 = b[0]>>6&1 == 1
	h.RSV2 = b[0]>>5&1 == 1
	h.RSV3 = b[0]>>4&1 == 1
	h.Opcode = frame.Opcode(b[0] & 15)
	h.Masked = b[1]>>7 == 1
	n = 2
	var length uint64
	switch l := b[1] & 127; {
	case l < 126:
		length = uint64(l)
	case l == 126:
		if len(b) < 4 {
			return h, 0, false, true
		}
		length, n = uint64(b[2])<<8|uint64(b[3]), 4
		if length < 126 {
			return h, 0, false, false
		}
	default:
		if len(b) < 10 {
			return h, 0, false, true
		}
		for _, c := range b[2:10] {
			length = length<<8 | uint64(c)
		}
		n = 10
		if length >= 1<<63 || length < 1<<16 {
			return h, 0, false, false
		}
	}
	h.Length = int64(length)
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, false, true
		}
		copy(h.Key[:], b[n:])
		n += 4
	}
	return h, n, true, false
}

// refCheck is an independent statement of the receive-side header rules
// (RFC 6455 §5.1, §5.2, §5.5).
func refCheck(h frame.Header, wantMasked bool, allowed frame.Flags) bool {
	op := h.Opcode
	if (op >= 3 && op <= 7) || op >= 0xB {
		return false
	}
	if h.RSV1 && allowed&frame.RSV1 == 0 || h.RSV2 && allowed&frame.RSV2 == 0 || h.RSV3 && allowed&frame.RSV3 == 0 {
		return false
	}
	if op >= 8 && (!h.Fin || h.Length > 125) {
		return false
	}
	return h.Masked == wantMasked
}

// FuzzParseHeader: for every input, ParseHeader agrees with an independent
// decoder; whatever parses re-encodes with AppendHeader to exactly the bytes
// consumed (the encoding is minimal, so it is unique); every proper prefix of
// a header is ErrIncomplete; errors are *frame.ProtocolError with 1002; and
// Header.Check agrees with the RFC rules for both roles and every RSV grant.
func FuzzParseHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := frame.ParseHeader(b)
		rh, rn, ok, short := refParseHeader(b)
		switch {
		case short:
			if !errors.Is(err, frame.ErrIncomplete) || n != 0 {
				t.Fatalf("ParseHeader(% x) = n %d, err %v; want ErrIncomplete", b, n, err)
			}
			if len(b) >= frame.MaxHeaderSize {
				t.Fatalf("ErrIncomplete on %d bytes", len(b))
			}
			return
		case !ok:
			var pe *frame.ProtocolError
			if !errors.As(err, &pe) || pe.Code != frame.CloseProtocolError {
				t.Fatalf("ParseHeader(% x) err = %v; want a 1002 *ProtocolError", b, err)
			}
			if !errors.Is(err, frame.ErrLengthOverflow) && !errors.Is(err, frame.ErrNonMinimalLength) {
				t.Fatalf("ParseHeader(% x) err = %v; want a length error", b, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseHeader(% x) err = %v; want %+v", b, err, rh)
		}
		if n != rn {
			t.Fatalf("ParseHeader(% x) n = %d, want %d", b, n, rn)
		}
		if diff := cmp.Diff(rh, h); diff != "" {
			t.Fatalf("ParseHeader(% x) (-want +got):\n%s", b, diff)
		}
		if got := frame.AppendHeader(nil, h); !bytes.Equal(got, b[:n]) {
			t.Fatalf("AppendHeader(ParseHeader(% x)) = % x", b[:n], got)
		}
		if hs := frame.HeaderSize(h); hs != n {
			t.Fatalf("HeaderSize = %d, consumed %d", hs, n)
		}
		for k := 0; k < n; k++ {
			if _, kn, kerr := frame.ParseHeader(b[:k]); !errors.Is(kerr, frame.ErrIncomplete) || kn != 0 {
				t.Fatalf("ParseHeader of %d-byte prefix of % x = n %d, err %v; want ErrIncomplete", k, b[:n], kn, kerr)
			}
		}
		if got := frame.NewHeader(h.Opcode, h.Flags(), h.Key, h.Length); got != h {
			t.Fatalf("NewHeader(h.Flags()) = %+v, want %+v", got, h)
		}
		for _, want := range []bool{false, true} {
			for rsv := frame.Flags(0); rsv <= frame.RSV1|frame.RSV2|frame.RSV3; rsv++ {
				cerr := h.Check(want, rsv)
				if refOK := refCheck(h, want, rsv); refOK != (cerr == nil) {
					t.Fatalf("%+v.Check(%v, %v) = %v, reference says ok=%v", h, want, rsv, cerr, refOK)
				}
				var pe *frame.ProtocolError
				if cerr != nil && (!errors.As(cerr, &pe) || pe.Code != frame.CloseProtocolError) {
					t.Fatalf("Check error %v is not a 1002 *ProtocolError", cerr)
				}
			}
		}
	})
}

// FuzzAppendHeader: any header built from fields parses back to itself
// (negative lengths encode as 0, and the key is dropped when unmasked).
func FuzzAppendHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b0 byte, masked bool, key uint32, length int64) {
		h := frame.Header{
			Fin: b0&0x80 != 0, RSV1: b0&0x40 != 0, RSV2: b0&0x20 != 0, RSV3: b0&0x10 != 0,
			Opcode: frame.Opcode(b0 & 0xF), Masked: masked, Length: length,
		}
		binary.BigEndian.PutUint32(h.Key[:], key)
		enc := frame.AppendHeader([]byte("prefix"), h)
		if string(enc[:6]) != "prefix" {
			t.Fatalf("AppendHeader clobbered dst: %q", enc[:6])
		}
		enc = enc[6:]
		if len(enc) != frame.HeaderSize(h) {
			t.Fatalf("AppendHeader wrote %d bytes, HeaderSize says %d", len(enc), frame.HeaderSize(h))
		}
		got, n, err := frame.ParseHeader(enc)
		if err != nil || n != len(enc) {
			t.Fatalf("ParseHeader(AppendHeader(%+v) = % x) = n %d, err %v", h, enc, n, err)
		}
		want := h
		if want.Length < 0 {
			want.Length = 0
		}
		if !want.Masked {
			want.Key = mask.Key{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

// FuzzAppend: frame.Append builds exactly the frame AppendFrame builds from
// NewHeader with the same opcode, flags and key, leaves dst's bytes and the
// payload alone, and its frame parses back to that header and, unmasked,
// to the payload.
func FuzzAppend(f *testing.F) {
	f.Add(byte(frame.OpText), byte(frame.Mask), uint32(0x37fa213d), []byte("Hello"))
	f.Add(byte(frame.OpBinary), byte(frame.RSV1|frame.More), uint32(0), make([]byte, 126))
	f.Fuzz(func(t *testing.T, op, flags byte, key uint32, payload []byte) {
		o, fl := frame.Opcode(op&0xF), frame.Flags(flags)&(frame.RSV1|frame.RSV2|frame.RSV3|frame.Mask|frame.More)
		var k mask.Key
		binary.BigEndian.PutUint32(k[:], key)
		orig := bytes.Clone(payload)
		got := frame.Append([]byte("prefix"), o, fl, k, payload)
		want := frame.AppendFrame([]byte("prefix"), frame.NewHeader(o, fl, k, 0), payload)
		if !bytes.Equal(got, want) {
			t.Fatalf("Append(%v, %#x) = % x\nAppendFrame(NewHeader) = % x", o, fl, got, want)
		}
		if !bytes.Equal(payload, orig) {
			t.Fatal("Append changed the payload")
		}
		if string(got[:6]) != "prefix" {
			t.Fatalf("Append clobbered dst: %q", got[:6])
		}
		h, n, err := frame.ParseHeader(got[6:])
		if err != nil {
			t.Fatalf("ParseHeader(Append) = %v", err)
		}
		if diff := cmp.Diff(frame.NewHeader(o, fl, k, int64(len(payload))), h); diff != "" {
			t.Fatalf("header round trip (-want +got):\n%s", diff)
		}
		body := got[6+n:]
		if h.Masked {
			mask.Apply(h.Key, 0, body)
		}
		if !bytes.Equal(body, payload) {
			t.Fatal("payload round trip differs")
		}
	})
}

// FuzzClose: ParseClose accepts exactly the payloads RFC 6455 §5.5.1 and
// §7.4 allow (empty, or a code valid on the wire plus a UTF-8 reason), each
// error carries the right close code, and what parses re-encodes with
// AppendClose to the same bytes.
func FuzzClose(f *testing.F) {
	f.Fuzz(func(t *testing.T, p []byte) {
		orig := bytes.Clone(p)
		code, reason, err := frame.ParseClose(p)
		if !bytes.Equal(p, orig) {
			t.Fatalf("ParseClose modified its input")
		}
		var wantErr error
		switch {
		case len(p) == 0:
		case len(p) == 1:
			wantErr = frame.ErrCloseLength
		case !frame.CloseCode(binary.BigEndian.Uint16(p)).IsValidOnWire():
			wantErr = frame.ErrCloseCode
		case !utf8.Valid(p[2:]):
			wantErr = frame.ErrInvalidUTF8
		}
		if !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) {
			t.Fatalf("ParseClose(% x) err = %v, want %v", p, err, wantErr)
		}
		if err != nil {
			var pe *frame.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseClose error %v is not a *ProtocolError", err)
			}
			wantCode := frame.CloseProtocolError
			if wantErr == frame.ErrInvalidUTF8 {
				wantCode = frame.CloseInvalidPayload
			}
			if pe.Code != wantCode {
				t.Fatalf("ParseClose(% x) error code %v, want %v", p, pe.Code, wantCode)
			}
			return
		}
		if len(p) == 0 {
			if code != frame.CloseNoStatus || len(reason) != 0 {
				t.Fatalf("ParseClose(empty) = %v, %q", code, reason)
			}
		} else if code != frame.CloseCode(binary.BigEndian.Uint16(p)) || !bytes.Equal(reason, p[2:]) {
			t.Fatalf("ParseClose(% x) = %v, %q", p, code, reason)
		}
		enc, aerr := frame.AppendClose(nil, code, string(reason))
		if len(reason) > frame.MaxCloseReason {
			if !errors.Is(aerr, frame.ErrCloseReasonTooLong) {
				t.Fatalf("AppendClose with a %d-byte reason: err = %v", len(reason), aerr)
			}
			return
		}
		if aerr != nil || !bytes.Equal(enc, p) {
			t.Fatalf("AppendClose(ParseClose(% x)) = % x, %v", p, enc, aerr)
		}
	})
}

// FuzzAppendClose: AppendClose writes exactly the payloads ParseClose reads
// back, and refuses (appending nothing) codes that must not be on the wire,
// reasons over 123 bytes and non-UTF-8 reasons.
func FuzzAppendClose(f *testing.F) {
	f.Fuzz(func(t *testing.T, c uint16, reason string) {
		code := frame.CloseCode(c)
		enc, err := frame.AppendClose([]byte("x"), code, reason)
		if string(enc[:1]) != "x" {
			t.Fatalf("AppendClose clobbered dst")
		}
		okWant := code == frame.CloseNoStatus && reason == "" ||
			code.IsValidOnWire() && len(reason) <= frame.MaxCloseReason && utf8.ValidString(reason)
		if okWant != (err == nil) {
			t.Fatalf("AppendClose(%v, %q) err = %v, want ok=%v", code, reason, err, okWant)
		}
		if err != nil {
			if len(enc) != 1 {
				t.Fatalf("AppendClose appended % x along with error %v", enc[1:], err)
			}
			var pe *frame.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("AppendClose error %v is not a *ProtocolError", err)
			}
			return
		}
		if len(enc)-1 > frame.MaxControlPayload {
			t.Fatalf("close payload of %d bytes", len(enc)-1)
		}
		gc, gr, perr := frame.ParseClose(enc[1:])
		if perr != nil || gc != code || string(gr) != reason {
			t.Fatalf("ParseClose(AppendClose(%v, %q)) = %v, %q, %v", code, reason, gc, gr, perr)
		}
	})
}

// FuzzMask: mask.Apply over arbitrary chunks, starting at an arbitrary key
// position and buffer offset (alignment), equals a byte-at-a-time XOR,
// returns the right next position, touches nothing outside its slice, and
// frame.AppendFrame masks the same way while copying.
func FuzzMask(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos, off byte, splits []byte) {
		var key mask.Key
		binary.LittleEndian.PutUint32(key[:], k)
		start := int(pos)
		want := bytes.Clone(data)
		for i := range want {
			want[i] ^= key[(start+i)&3]
		}

		o := int(off % 64)
		buf := make([]byte, o+len(data)+64)
		for i := range buf {
			buf[i] = byte(i*7 + 1)
		}
		guard := bytes.Clone(buf)
		copy(buf[o:], data)
		p, at := start, o
		for _, c := range chunks(len(data), splits) {
			np := mask.Apply(key, p, buf[at:at+c])
			if np != (p+c)&3 {
				t.Fatalf("Apply(pos %d, %d bytes) returned %d, want %d", p, c, np, (p+c)&3)
			}
			p, at = np, at+c
		}
		if !bytes.Equal(buf[o:o+len(data)], want) {
			t.Fatalf("chunked Apply differs from the reference\n got % x\nwant % x", buf[o:o+len(data)], want)
		}
		if !bytes.Equal(buf[:o], guard[:o]) || !bytes.Equal(buf[o+len(data):], guard[o+len(data):]) {
			t.Fatalf("Apply wrote outside its slice")
		}
		// Masking is its own inverse.
		if mask.Apply(key, start, buf[o:o+len(data)]); !bytes.Equal(buf[o:o+len(data)], data) {
			t.Fatalf("Apply twice is not the identity")
		}

		if len(data) > 1<<16+10 {
			return
		}
		h := frame.NewHeader(frame.OpBinary, frame.Mask, key, int64(len(data)))
		orig := bytes.Clone(data)
		fr := frame.AppendFrame(nil, h, data)
		if !bytes.Equal(data, orig) {
			t.Fatalf("AppendFrame modified the payload")
		}
		hdr := frame.AppendHeader(nil, h)
		if !bytes.Equal(fr[:len(hdr)], hdr) {
			t.Fatalf("AppendFrame header % x, want % x", fr[:len(hdr)], hdr)
		}
		for i := range data {
			if fr[len(hdr)+i] != data[i]^key[i&3] {
				t.Fatalf("AppendFrame payload byte %d = %#x, want %#x", i, fr[len(hdr)+i], data[i]^key[i&3])
			}
		}
	})
}
