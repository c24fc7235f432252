package frame

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/mask"
)

var rfcKey = mask.Key{0x37, 0xfa, 0x21, 0x3d}

// The example frames of RFC 6455 §5.7.
var rfcFrames = []struct {
	name    string
	header  Header
	payload []byte
	wire    []byte
}{
	{
		name:    "unmasked text Hello",
		header:  Header{Fin: true, Opcode: OpText, Length: 5},
		payload: []byte("Hello"),
		wire:    []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
	},
	{
		name:    "masked text Hello",
		header:  Header{Fin: true, Opcode: OpText, Masked: true, Key: rfcKey, Length: 5},
		payload: []byte("Hello"),
		wire:    []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
	},
	{
		name:    "first fragment Hel",
		header:  Header{Opcode: OpText, Length: 3},
		payload: []byte("Hel"),
		wire:    []byte{0x01, 0x03, 0x48, 0x65, 0x6c},
	},
	{
		name:    "last fragment lo",
		header:  Header{Fin: true, Opcode: OpContinuation, Length: 2},
		payload: []byte("lo"),
		wire:    []byte{0x80, 0x02, 0x6c, 0x6f},
	},
	{
		name:    "unmasked ping Hello",
		header:  Header{Fin: true, Opcode: OpPing, Length: 5},
		payload: []byte("Hello"),
		wire:    []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
	},
	{
		name:    "masked pong Hello",
		header:  Header{Fin: true, Opcode: OpPong, Masked: true, Key: rfcKey, Length: 5},
		payload: []byte("Hello"),
		wire:    []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
	},
	{
		name:    "256 bytes binary",
		header:  Header{Fin: true, Opcode: OpBinary, Length: 256},
		payload: make([]byte, 256),
		wire:    append([]byte{0x82, 0x7e, 0x01, 0x00}, make([]byte, 256)...),
	},
	{
		name:    "64 KiB binary",
		header:  Header{Fin: true, Opcode: OpBinary, Length: 65536},
		payload: make([]byte, 65536),
		wire:    append([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, make([]byte, 65536)...),
	},
}

func TestRFCExamplesEncode(t *testing.T) {
	for _, tc := range rfcFrames {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendFrame(nil, tc.header, tc.payload)
			if !bytes.Equal(got, tc.wire) {
				t.Errorf("AppendFrame = % x\nwant % x", head(got), head(tc.wire))
			}
			h := NewHeader(tc.header.Opcode, tc.header.Flags(), tc.header.Key, tc.header.Length)
			if diff := cmp.Diff(tc.header, h); diff != "" {
				t.Errorf("NewHeader(Flags()) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRFCExamplesDecode(t *testing.T) {
	for _, tc := range rfcFrames {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseHeader(tc.wire)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.header, h); diff != "" {
				t.Errorf("ParseHeader (-want +got):\n%s", diff)
			}
			if n != HeaderSize(h) {
				t.Errorf("n = %d, HeaderSize = %d", n, HeaderSize(h))
			}
			payload := bytes.Clone(tc.wire[n:])
			if h.Masked {
				mask.Apply(h.Key, 0, payload)
			}
			if !bytes.Equal(payload, tc.payload) {
				t.Errorf("payload = %q, want %q", head(payload), head(tc.payload))
			}
		})
	}
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

func TestLengthBoundaries(t *testing.T) {
	for _, tc := range []struct {
		length int64
		size   int // header size unmasked
	}{
		{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {math.MaxInt64, 10},
	} {
		for _, masked := range []bool{false, true} {
			h := Header{Fin: true, Opcode: OpBinary, Length: tc.length, Masked: masked}
			if masked {
				h.Key = rfcKey
			}
			wire := AppendHeader(nil, h)
			want := tc.size
			if masked {
				want += 4
			}
			if len(wire) != want || HeaderSize(h) != want {
				t.Errorf("length %d masked %v: encoded %d bytes, HeaderSize %d, want %d", tc.length, masked, len(wire), HeaderSize(h), want)
			}
			got, n, err := ParseHeader(wire)
			if err != nil || n != want {
				t.Fatalf("length %d: ParseHeader n=%d err=%v", tc.length, n, err)
			}
			if diff := cmp.Diff(h, got); diff != "" {
				t.Errorf("length %d round trip (-want +got):\n%s", tc.length, diff)
			}
			// Every strict prefix is incomplete and consumes nothing.
			for i := range wire {
				if _, n, err := ParseHeader(wire[:i]); !errors.Is(err, ErrIncomplete) || n != 0 {
					t.Errorf("length %d prefix %d: n=%d err=%v, want ErrIncomplete", tc.length, i, n, err)
				}
			}
		}
	}
}

func TestParseHeaderStructuralErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire []byte
		want error
	}{
		{"64-bit length with top bit", []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, ErrLengthOverflow},
		{"16-bit length below 126", []byte{0x82, 0x7e, 0x00, 0x7d}, ErrNonMinimalLength},
		{"64-bit length below 65536", []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, ErrNonMinimalLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, n, err := ParseHeader(tc.wire)
			if !errors.Is(err, tc.want) || n != 0 {
				t.Errorf("ParseHeader = n %d, err %v; want %v", n, err, tc.want)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != CloseProtocolError {
				t.Errorf("error %v does not carry code 1002", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	data := Header{Fin: true, Opcode: OpText, Masked: true}
	for _, tc := range []struct {
		name       string
		h          Header
		wantMasked bool
		allowed    Flags
		want       error
	}{
		{"valid masked text at server", data, true, 0, nil},
		{"unmasked frame at server", Header{Fin: true, Opcode: OpText}, true, 0, ErrUnmasked},
		{"masked frame at client", data, false, 0, ErrMasked},
		{"valid unmasked at client", Header{Fin: true, Opcode: OpBinary}, false, 0, nil},
		{"reserved data opcode 3", Header{Fin: true, Opcode: 3, Masked: true}, true, 0, ErrReservedOpcode},
		{"reserved control opcode 0xB", Header{Fin: true, Opcode: 0xB, Masked: true}, true, 0, ErrReservedOpcode},
		{"RSV1 without extension", Header{Fin: true, RSV1: true, Opcode: OpText, Masked: true}, true, 0, ErrReservedBits},
		{"RSV1 with extension", Header{Fin: true, RSV1: true, Opcode: OpText, Masked: true}, true, RSV1, nil},
		{"RSV2 with only RSV1 granted", Header{Fin: true, RSV2: true, Opcode: OpText, Masked: true}, true, RSV1, ErrReservedBits},
		{"RSV3", Header{Fin: true, RSV3: true, Opcode: OpText, Masked: true}, true, 0, ErrReservedBits},
		{"fragmented ping", Header{Opcode: OpPing, Masked: true}, true, 0, ErrFragmentedControl},
		{"ping of 125 bytes", Header{Fin: true, Opcode: OpPing, Masked: true, Length: 125}, true, 0, nil},
		{"ping of 126 bytes", Header{Fin: true, Opcode: OpPing, Masked: true, Length: 126}, true, 0, ErrControlTooLong},
		{"close of 126 bytes", Header{Fin: true, Opcode: OpClose, Length: 126}, false, 0, ErrControlTooLong},
		{"text with More", Header{Opcode: OpText, Masked: true, Length: 1 << 40}, true, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.h.Check(tc.wantMasked, tc.allowed); err != tc.want {
				t.Errorf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFlagsNeverDropFin(t *testing.T) {
	for f := Flags(0); f < 32; f++ {
		h := NewHeader(OpText, f, rfcKey, 1)
		if h.Fin != (f&More == 0) {
			t.Errorf("flags %05b: Fin = %v", f, h.Fin)
		}
		if h.Flags() != f {
			t.Errorf("flags %05b: round trip gives %05b", f, h.Flags())
		}
	}
	if h := NewHeader(OpText, Compressed, mask.Key{}, 1); !h.Fin || !h.RSV1 {
		t.Errorf("Compressed alone: %+v, want Fin and RSV1", h)
	}
	if h := NewHeader(OpText, 0, rfcKey, 1); h.Key != (mask.Key{}) {
		t.Errorf("key kept without Mask: %+v", h)
	}
}

func TestOpcodes(t *testing.T) {
	var names []string
	for o := Opcode(0); o < 16; o++ {
		names = append(names, o.String())
		if o.IsControl() == o.IsData() {
			t.Errorf("%v: IsControl == IsData", o)
		}
	}
	want := "continuation text binary reserved(0x3) reserved(0x4) reserved(0x5) reserved(0x6) reserved(0x7) close ping pong reserved(0xb) reserved(0xc) reserved(0xd) reserved(0xe) reserved(0xf)"
	if diff := cmp.Diff(want, strings.Join(names, " ")); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestParseClose(t *testing.T) {
	for _, tc := range []struct {
		name       string
		payload    []byte
		wantCode   CloseCode
		wantReason string
		wantErr    error
	}{
		{"empty", nil, CloseNoStatus, "", nil},
		{"one byte", []byte{0x03}, 0, "", ErrCloseLength},
		{"normal", []byte{0x03, 0xe8}, CloseNormal, "", nil},
		{"normal with reason", []byte{0x03, 0xe8, 'b', 'y', 'e'}, CloseNormal, "bye", nil},
		{"4999", []byte{0x13, 0x87}, 4999, "", nil},
		{"code 0", []byte{0, 0}, 0, "", ErrCloseCode},
		{"code 999", []byte{0x03, 0xe7}, 999, "", ErrCloseCode},
		{"code 1004", []byte{0x03, 0xec}, 1004, "", ErrCloseCode},
		{"code 1005", []byte{0x03, 0xed}, 1005, "", ErrCloseCode},
		{"code 1006", []byte{0x03, 0xee}, 1006, "", ErrCloseCode},
		{"code 1015", []byte{0x03, 0xf7}, 1015, "", ErrCloseCode},
		{"code 2999", []byte{0x0b, 0xb7}, 2999, "", ErrCloseCode},
		{"code 5000", []byte{0x13, 0x88}, 5000, "", ErrCloseCode},
		{"invalid utf8 reason", []byte{0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80}, CloseNormal, "", ErrInvalidUTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, err := ParseClose(tc.payload)
			if err != tc.wantErr || code != tc.wantCode || string(reason) != tc.wantReason {
				t.Errorf("ParseClose = %v, %q, %v; want %v, %q, %v", code, reason, err, tc.wantCode, tc.wantReason, tc.wantErr)
			}
		})
	}
	var pe *ProtocolError
	if _, _, err := ParseClose([]byte{0x03, 0xe8, 0xff}); !errors.As(err, &pe) || pe.Code != CloseInvalidPayload {
		t.Errorf("invalid UTF-8 reason: %v, want code 1007", err)
	}
}

func TestAppendClose(t *testing.T) {
	for _, tc := range []struct {
		name    string
		code    CloseCode
		reason  string
		want    []byte
		wantErr error
	}{
		{"no status", CloseNoStatus, "", nil, nil},
		{"no status with reason", CloseNoStatus, "x", nil, ErrCloseCode},
		{"normal", CloseNormal, "", []byte{0x03, 0xe8}, nil},
		{"going away with reason", CloseGoingAway, "bye", []byte{0x03, 0xe9, 'b', 'y', 'e'}, nil},
		{"abnormal", CloseAbnormal, "", nil, ErrCloseCode},
		{"reason of 123 bytes", CloseNormal, strings.Repeat("a", 123), append([]byte{0x03, 0xe8}, strings.Repeat("a", 123)...), nil},
		{"reason of 124 bytes", CloseNormal, strings.Repeat("a", 124), nil, ErrCloseReasonTooLong},
		{"reason not UTF-8", CloseNormal, "\xff", nil, ErrInvalidUTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendClose(nil, tc.code, tc.reason)
			if err != tc.wantErr {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("AppendClose (-want +got):\n%s", diff)
			}
			if err == nil {
				code, reason, err := ParseClose(got)
				if err != nil || code != tc.code || string(reason) != tc.reason {
					t.Errorf("round trip: %v %q %v", code, reason, err)
				}
			}
		})
	}
}

func TestCloseCodeString(t *testing.T) {
	for code, want := range map[CloseCode]string{
		1000: "1000 (normal closure)", 1009: "1009 (message too big)", 1015: "1015 (TLS handshake failure)", 4000: "4000", 999: "999",
	} {
		if got := code.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint16(code), got, want)
		}
	}
}

// stream is every RFC example frame back to back.
func stream() ([]byte, []Header) {
	var wire []byte
	var hs []Header
	for _, tc := range rfcFrames {
		wire = append(wire, tc.wire...)
		hs = append(hs, tc.header)
	}
	return wire, hs
}

func readAll(t *testing.T, r io.Reader) ([]Header, error) {
	t.Helper()
	fr := NewReader(r)
	var got []Header
	for {
		h, err := fr.ReadHeader()
		if err != nil {
			return got, err
		}
		got = append(got, h)
		if _, err := io.CopyN(io.Discard, r, h.Length); err != nil {
			return got, err
		}
	}
}

func TestReaderUnderIotest(t *testing.T) {
	wire, want := stream()
	for _, tc := range []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"OneByteReader", iotest.OneByteReader},
		{"HalfReader", iotest.HalfReader},
		{"DataErrReader", iotest.DataErrReader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.wrap(bytes.NewReader(wire)))
			if err != io.EOF {
				t.Errorf("final error %v, want io.EOF", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReaderResumesAfterTimeout reads through iotest.TimeoutReader, whose
// second read fails with ErrTimeout: the header must still come out whole.
func TestReaderResumesAfterTimeout(t *testing.T) {
	wire := rfcFrames[1].wire // masked: 6-byte header
	r := NewReader(iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(wire))))
	if _, err := r.ReadHeader(); err != iotest.ErrTimeout {
		t.Fatalf("first ReadHeader: %v, want ErrTimeout", err)
	}
	h, err := r.ReadHeader()
	if err != nil {
		t.Fatalf("after timeout: %v", err)
	}
	if diff := cmp.Diff(rfcFrames[1].header, h); diff != "" {
		t.Errorf("header after timeout (-want +got):\n%s", diff)
	}
}

func TestReaderEOFInsideHeader(t *testing.T) {
	r := NewReader(bytes.NewReader([]byte{0x82, 0x7e, 0x01}))
	if _, err := r.ReadHeader(); err != io.ErrUnexpectedEOF {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	r.Reset(bytes.NewReader([]byte{0x82, 0x7e, 0x00, 0x05}))
	if _, err := r.ReadHeader(); err != ErrNonMinimalLength {
		t.Errorf("err = %v, want ErrNonMinimalLength", err)
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, tc := range rfcFrames {
		if err := w.WriteHeader(tc.header); err != nil {
			t.Fatal(err)
		}
		buf.Write(AppendFrame(nil, tc.header, tc.payload)[HeaderSize(tc.header):])
	}
	wire, _ := stream()
	if !bytes.Equal(buf.Bytes(), wire) {
		t.Error("Writer output differs from the RFC frames")
	}
}

func TestNoAllocs(t *testing.T) {
	wire := rfcFrames[1].wire
	buf := make([]byte, 0, 256)
	payload := []byte("Hello")
	closeBuf := make([]byte, 0, 125)
	src := bytes.NewReader(nil)
	r := NewReader(src)
	w := NewWriter(io.Discard)
	for name, f := range map[string]func(){
		"ParseHeader":  func() { _, _, _ = ParseHeader(wire) },
		"AppendHeader": func() { _ = AppendHeader(buf[:0], rfcFrames[1].header) },
		"AppendFrame":  func() { _ = AppendFrame(buf[:0], rfcFrames[1].header, payload) },
		"Check":        func() { _ = rfcFrames[1].header.Check(true, 0) },
		"ParseClose":   func() { _, _, _ = ParseClose([]byte{0x03, 0xe8, 'o', 'k'}) },
		"AppendClose":  func() { _, _ = AppendClose(closeBuf[:0], CloseNormal, "bye") },
		"Reader.ReadHeader": func() {
			src.Reset(wire)
			_, _ = r.ReadHeader()
		},
		"Writer.WriteHeader": func() { _ = w.WriteHeader(rfcFrames[1].header) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}

// TestAppendFrameLengths checks AppendFrame, whose frames of up to 125
// payload bytes take a path of their own, against AppendHeader followed by
// the payload masked byte by byte as RFC 6455 §5.3 says, on both sides of
// the 7-bit length limit, masked and not, with every flag, after bytes
// already in dst.
func TestAppendFrameLengths(t *testing.T) {
	key := mask.Key{0xa1, 0x02, 0xf3, 0x44}
	prefix := []byte("prefix")
	for _, flags := range []Flags{0, More, RSV1, RSV2 | RSV3, RSV1 | RSV2 | RSV3 | More} {
		for _, masked := range []bool{false, true} {
			f := flags
			if masked {
				f |= Mask
			}
			for n := 0; n <= 300; n++ {
				payload := make([]byte, n)
				for i := range payload {
					payload[i] = byte(i*7 + n)
				}
				orig := bytes.Clone(payload)
				h := NewHeader(OpBinary, f, key, 0)
				got := AppendFrame(bytes.Clone(prefix), h, payload)

				h.Length = int64(n)
				want := AppendHeader(bytes.Clone(prefix), h)
				for i, b := range payload {
					if masked {
						b ^= key[i%4]
					}
					want = append(want, b)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("flags %v masked %v, %d bytes: AppendFrame = % x\nwant % x", flags, masked, n, head(got), head(want))
				}
				if !bytes.Equal(payload, orig) {
					t.Fatalf("flags %v masked %v, %d bytes: AppendFrame changed the payload", flags, masked, n)
				}
			}
		}
	}
}

// TestAppend checks that Append builds the frame AppendFrame builds from
// NewHeader with the same opcode, flags and key, for every flag
// combination, several opcodes and lengths on both sides of 125 and of
// 65535.
func TestAppend(t *testing.T) {
	key := mask.Key{0x5c, 0x01, 0xee, 0x90}
	for f := Flags(0); f <= RSV1|RSV2|RSV3|Mask|More; f++ {
		for _, op := range []Opcode{OpContinuation, OpText, OpBinary, OpPing, OpPong} {
			for _, n := range []int{0, 1, 4, 7, 16, 124, 125, 126, 127, 1000, 65535, 65536} {
				payload := make([]byte, n)
				for i := range payload {
					payload[i] = byte(i ^ n)
				}
				got := Append([]byte("x"), op, f, key, payload)
				want := AppendFrame([]byte("x"), NewHeader(op, f, key, 0), payload)
				if !bytes.Equal(got, want) {
					t.Fatalf("op %v flags %#x, %d bytes: Append = % x\nwant % x", op, f, n, head(got), head(want))
				}
			}
		}
	}
}
