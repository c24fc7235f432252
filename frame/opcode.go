package frame

import "strconv"

// Opcode is the 4-bit frame type of RFC 6455 §5.2.
type Opcode uint8

// The opcodes defined by RFC 6455 §5.2 (registered in §11.8).
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether o is a control opcode (RFC 6455 §5.5: the most
// significant bit of the opcode is 1), reserved ones included.
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// IsData reports whether o is a data opcode (§5.6), reserved ones included,
// or the continuation opcode.
func (o Opcode) IsData() bool { return o&0x8 == 0 }

// IsReserved reports whether o is reserved for further definition
// (0x3-0x7 and 0xB-0xF, RFC 6455 §5.2).
func (o Opcode) IsReserved() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return false
	}
	return true
}

// String returns the opcode's name, e.g. "text", or "reserved(0x3)".
func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}
