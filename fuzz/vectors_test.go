package fuzz

import (
	"bytes"
	"encoding/binary"
)

// Golden vectors shared by the seed corpora.

// RFC 6455 §5.7 examples.
var (
	rfcTextUnmasked = []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}                         // "Hello"
	rfcTextMasked   = []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58} // "Hello", masked
	rfcFragment1    = []byte{0x01, 0x03, 0x48, 0x65, 0x6c}                                     // "Hel"
	rfcFragment2    = []byte{0x80, 0x02, 0x6c, 0x6f}                                           // "lo"
	rfcPingUnmasked = []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}                         // Ping "Hello"
	rfcPongMasked   = []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58} // Pong "Hello", masked
	rfc256Header    = []byte{0x82, 0x7e, 0x01, 0x00}                                           // binary, 256 bytes
	rfc64KHeader    = []byte{0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}       // binary, 65536 bytes
	rfcKey          = [4]byte{0x37, 0xfa, 0x21, 0x3d}                                          // the §5.7 masking key
	maxLenHeader    = []byte{0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}       // 2^63-1
	overflowHeader  = []byte{0x82, 0x7f, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}       // top bit set
	nonMinimal16    = []byte{0x82, 0x7e, 0x00, 0x7d}                                           // 125 in 16 bits
	nonMinimal64    = []byte{0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff}       // 65535 in 64 bits
)

// RFC 6455 §1.3 opening handshake.
const (
	rfcRequest = "GET /chat HTTP/1.1\r\n" +
		"Host: server.example.com\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Origin: http://example.com\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"\r\n"
	rfcResponse = "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Protocol: chat\r\n" +
		"\r\n"
	rfcKeyB64    = "dGhlIHNhbXBsZSBub25jZQ=="
	rfcAcceptB64 = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// closePayload is a close frame body: 2-byte code and reason.
func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}
