package websocket

import (
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/handshake"
)

// The names below are package frame's, repeated here so that the common
// path (Close, CloseError, CloseStatus, WriteFrame) needs this package only.
// They are aliases: websocket.CloseNormal and frame.CloseNormal are the same
// value of the same type.

// CloseCode is the status code of a Close frame (RFC 6455 §7.4).
type CloseCode = frame.CloseCode

// Close codes (RFC 6455 §7.4.1 and the IANA registry). CloseNoStatus,
// CloseAbnormal and CloseTLSHandshake never go on the wire: they describe a
// Close frame without a code, a connection that ended without one, and a
// failed TLS handshake.
const (
	CloseNormal             = frame.CloseNormal
	CloseGoingAway          = frame.CloseGoingAway
	CloseProtocolError      = frame.CloseProtocolError
	CloseUnsupportedData    = frame.CloseUnsupportedData
	CloseNoStatus           = frame.CloseNoStatus
	CloseAbnormal           = frame.CloseAbnormal
	CloseInvalidPayload     = frame.CloseInvalidPayload
	ClosePolicyViolation    = frame.ClosePolicyViolation
	CloseMessageTooBig      = frame.CloseMessageTooBig
	CloseMandatoryExtension = frame.CloseMandatoryExtension
	CloseInternalError      = frame.CloseInternalError
	CloseServiceRestart     = frame.CloseServiceRestart
	CloseTryAgainLater      = frame.CloseTryAgainLater
	CloseBadGateway         = frame.CloseBadGateway
	CloseTLSHandshake       = frame.CloseTLSHandshake
)

// Opcode is a frame's opcode (RFC 6455 §5.2), for WriteFrame.
type Opcode = frame.Opcode

// Opcodes WriteFrame takes. Close frames go out through Close.
const (
	OpContinuation = frame.OpContinuation
	OpText         = frame.OpText
	OpBinary       = frame.OpBinary
	OpPing         = frame.OpPing
	OpPong         = frame.OpPong
)

// Flags are the explicit frame flags of WriteFrame. There is no FIN flag: a
// frame is final unless More is set, so no combination of flags can drop
// FIN by accident.
type Flags = frame.Flags

const (
	// More clears FIN: more fragments of this message follow.
	More = frame.More
	// Compressed sets RSV1 on a message's first frame when
	// permessage-deflate was negotiated (RFC 7692 §6). WriteFrame sends
	// the payload as given: compressing it is the caller's job.
	Compressed = frame.Compressed
)

// ResponseError is the error of a Dial whose handshake the server refused:
// its status, header and the start of its body (package handshake's type).
// Match it with errors.As.
type ResponseError = handshake.ResponseError

// DialResult is what Dial gives back besides the Conn (package handshake's
// Result): the agreed Subprotocol and Extensions, and the server's 101
// response, StatusCode, Status and Header (Set-Cookie, the server's own
// fields).
type DialResult = handshake.Result
