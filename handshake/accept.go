package handshake

import (
	"crypto/sha1"
	"encoding/base64"
)

// keyGUID is the GUID of RFC 6455 §1.3 and §4.2.2 step 5.4.
const keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for the client's
// Sec-WebSocket-Key: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
// (RFC 6455 §4.2.2 step 5.4).
func AcceptKey(key string) string {
	var buf [28]byte
	return string(appendAcceptKey(buf[:0], key))
}

// AppendAcceptKey appends the Sec-WebSocket-Accept value for key to dst. It
// does not allocate when dst has 28 bytes of spare capacity and key is a
// valid 24-character key.
func AppendAcceptKey(dst, key []byte) []byte {
	return appendAcceptKey(dst, key)
}

func appendAcceptKey[T text](dst []byte, key T) []byte {
	var in [24 + len(keyGUID)]byte
	b := append(in[:0], key...)
	b = append(b, keyGUID...)
	sum := sha1.Sum(b)
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// validKey reports whether key is base64 of exactly 16 bytes (RFC 6455
// §4.2.1 item 5: "a base64-encoded value that, when decoded, is 16 bytes in
// length").
func validKey[T text](key T) bool {
	if len(key) != 24 || key[22] != '=' || key[23] != '=' {
		return false
	}
	var in [24]byte
	var out [18]byte
	copy(in[:], key)
	n, err := base64.StdEncoding.Decode(out[:], in[:])
	return err == nil && n == 16
}
