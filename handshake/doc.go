// Package handshake implements the WebSocket opening handshake of RFC 6455
// §4 for both roles, the Sec-WebSocket-Extensions grammar of §9.1 and the
// header fields of §11.3 (Sec-WebSocket-Key, -Extensions, -Accept, -Protocol,
// -Version). It owns the HTTP/1.1 Upgrade exchange and nothing after it: it
// never imports frame or conn, and it never reads past the end of a head, so
// bytes that follow in the same segment stay in the caller's bufio.Reader for
// the connection.
//
// # Server, from net/http
//
// A handler calls CheckRequest, which runs every check of §4.2.1 and the
// origin, subprotocol and extension policy of ServerOptions without writing
// anything. On refusal it returns an *Error and the handler calls WriteError
// (status, one-line text/plain reason, "Allow: GET" on 405,
// "Sec-WebSocket-Version: 13" on 426). On success it returns the Result and
// the Sec-WebSocket-Accept value; the handler hijacks the connection and
// writes AppendResponse(buf, accept, res, opts.Header) itself.
//
// # Server, raw
//
// Upgrade(br, w, opts) reads the request head straight off a *bufio.Reader
// (no net/http), parsing header values in place in br's buffer, checks it
// and writes the 101 response (or the refusal) to w. A successful in-memory
// upgrade without extensions allocates nothing. The head is bounded by
// ServerOptions.MaxHeadBytes (default 8 KiB, 431 beyond) and MaxHeaders
// (default 64). Against slow clients (slowloris) set a read deadline on the
// connection, or ServerOptions.Timeout when w is the net.Conn.
// ServerOptions.Check sees the request target and header fields through a
// RequestHead.
//
// Both server paths refuse (400, ErrBadRequestTarget) a request-target that
// is not a §3 /resource name/ ("/" path [ "?" query ]) or an absolute http,
// https, ws or wss URI with a host, in printable ASCII with valid %XX
// escapes and no fragment (§4.2.1 item 1).
//
// # Client
//
// Dial(w, br, u, opts) writes the request for a ws:// or wss:// URL
// (WriteRequest: AppendRequest with a fresh NewKey from crypto/rand) and
// reads and checks the response (ReadResponse: status 101, Upgrade,
// Connection, Sec-WebSocket-Accept, a subprotocol and extensions only if
// offered, each extension accepted by its ClientExtension). A failure is a
// *ResponseError carrying the status line, header fields and the first KiB
// of the body; its message reads "handshake: server answered 403 Forbidden:
// origin not allowed". Dial does not open the connection: the caller dials
// TCP (and TLS for wss) and owns the deadlines.
//
// # Errors
//
// Server refusals are *Error{Status, Reason}; the sentinels (ErrBadMethod,
// ErrBadVersion, ErrOriginNotAllowed, ...) match with errors.Is, also when
// the reason carries a detail after ": ". Client failures are
// *ResponseError wrapping a client sentinel (ErrBadAccept,
// ErrUnofferedExtension, ...); a ResponseError also matches the server
// sentinel whose reason starts its body, so errors.Is(err,
// ErrOriginNotAllowed) holds on the client when a hybi server refused the
// origin. I/O errors pass through unchanged (io.EOF when nothing was sent,
// io.ErrUnexpectedEOF when a head stops midway).
//
// # Extensions
//
// ParseExtensions and AppendExtensions implement the §9.1 grammar.
// permessage-deflate (package deflate) implements ServerExtension and
// ClientExtension; the negotiated response elements end up in
// Result.Extensions in response order.
package handshake
