// Package handshake implements the WebSocket opening handshake of RFC 6455
// §4 for both roles, the Sec-WebSocket-Extensions grammar of §9.1 and the
// header fields of §11.3. It never imports frame or conn.
package handshake
