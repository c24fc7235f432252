// Package wstest is the module's test kit: a raw frame encoder written
// from RFC 6455 §5.2 alone (it does not use package frame, so tests that
// build their input with it check frame independently), and the harness
// that runs one client stream through a blocking read path and a Loop
// and reports what each did. Only _test.go files import it.
package wstest

import "encoding/binary"

// The first byte of a frame (RFC 6455 §5.2): FIN, RSV1-3 and the opcode
// in the low four bits.
const (
	FIN  byte = 0x80
	RSV1 byte = 0x40
	RSV2 byte = 0x20
	RSV3 byte = 0x10

	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xa
)

// AppendFrame appends one frame to dst and returns the extended slice,
// with every bit under the caller's control, so it also builds frames a
// peer must reject: b0 is the first byte as sent (FIN, RSV, opcode);
// the payload is masked with key when masked is set. lenBytes forces the
// payload length encoding: 0 picks the minimal one, 2 or 8 use the 16-
// or 64-bit extended length even where a shorter one fits.
func AppendFrame(dst []byte, b0 byte, masked bool, key [4]byte, payload []byte, lenBytes int) []byte {
	var m byte
	if masked {
		m = 0x80
	}
	n := len(payload)
	if lenBytes == 0 {
		switch {
		case n > 0xffff:
			lenBytes = 8
		case n > 125:
			lenBytes = 2
		}
	}
	switch lenBytes {
	case 8:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	case 2:
		dst = append(dst, b0, m|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, b0, m|byte(n))
	}
	if masked {
		dst = append(dst, key[:]...)
	}
	start := len(dst)
	dst = append(dst, payload...)
	if masked {
		for i := range payload {
			dst[start+i] ^= key[i%4]
		}
	}
	return dst
}

// Frame returns one frame with the minimal length encoding; see
// AppendFrame.
func Frame(b0 byte, masked bool, key [4]byte, payload []byte) []byte {
	return AppendFrame(nil, b0, masked, key, payload, 0)
}

// Key is the masking key tests use when the key does not matter.
var Key = [4]byte{1, 2, 3, 4}

// Client returns a final client frame (masked with Key) with opcode op.
func Client(op byte, payload []byte) []byte { return Frame(FIN|op, true, Key, payload) }

// Server returns a final server frame (unmasked) with opcode op.
func Server(op byte, payload []byte) []byte { return Frame(FIN|op, false, [4]byte{}, payload) }
