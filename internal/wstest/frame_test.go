package wstest

import (
	"bytes"
	"testing"
)

// TestFrameRFC checks the encoder against the examples of RFC 6455 §5.7
// and the length encoding boundaries of §5.2.
func TestFrameRFC(t *testing.T) {
	hello := []byte("Hello")
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"unmasked text", Frame(0x81, false, [4]byte{}, hello), []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}},
		{"masked text", Frame(0x81, true, [4]byte{0x37, 0xfa, 0x21, 0x3d}, hello),
			[]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}},
		{"first fragment", Frame(0x01, false, [4]byte{}, []byte("Hel")), []byte{0x01, 0x03, 0x48, 0x65, 0x6c}},
		{"last fragment", Frame(0x80, false, [4]byte{}, []byte("lo")), []byte{0x80, 0x02, 0x6c, 0x6f}},
		{"unmasked ping", Server(OpPing, hello), []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}},
		{"masked pong", Frame(FIN|OpPong, true, [4]byte{0x37, 0xfa, 0x21, 0x3d}, hello),
			[]byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}},
		{"125 bytes", Server(OpBinary, make([]byte, 125))[:2], []byte{0x82, 125}},
		{"256 bytes", Server(OpBinary, make([]byte, 256))[:4], []byte{0x82, 0x7e, 0x01, 0x00}},
		{"65535 bytes", Server(OpBinary, make([]byte, 65535))[:4], []byte{0x82, 0x7e, 0xff, 0xff}},
		{"64 KiB", Server(OpBinary, make([]byte, 65536))[:10], []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"forced 16-bit", AppendFrame(nil, 0x81, false, [4]byte{}, []byte("a"), 2), []byte{0x81, 0x7e, 0, 1, 'a'}},
		{"forced 64-bit", AppendFrame(nil, 0x81, false, [4]byte{}, nil, 8), []byte{0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"appends", AppendFrame([]byte{0xee}, 0x8a, false, [4]byte{}, nil, 0), []byte{0xee, 0x8a, 0x00}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s: % x, want % x", tt.name, tt.got, tt.want)
		}
	}
	p := []byte("payload")
	Client(OpText, p)
	if string(p) != "payload" {
		t.Errorf("masking changed the caller's payload: %q", p)
	}
}
