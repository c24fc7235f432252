// Package conn is the sans-I/O WebSocket connection state machine of hybi.
//
// It owns everything RFC 6455 says about a connection once the opening
// handshake is done, except the wire codec itself (package frame) and
// masking (package mask):
//
//   - §5.1 and §5.3: the masking rule per role (a server fails the connection
//     on an unmasked frame, a client on a masked one); outgoing client
//     frames are masked with a fresh key from mask.NewKey.
//   - §5.2: RSV bits are accepted only when Config.AllowedRSV grants them
//     (a negotiated extension owns them); reserved opcodes fail the
//     connection.
//   - §5.4: fragmentation: a continuation frame with no message open, or a
//     new data frame while one is open, fails the connection with 1002;
//     control frames may be interleaved within a fragmented message.
//   - §5.5: control frames (payload ≤ 125 bytes, never fragmented), even
//     when split across input chunks; a Ping is answered at once with a
//     Pong echoing its payload exactly (§5.5.2, §5.5.3; a backlog of
//     unanswered Pings is coalesced into the latest Pong); unsolicited
//     Pongs surface as events and need no answer; Close (§5.5.1) is echoed
//     with the peer's status code.
//   - §5.6 and §8.1: text messages are validated incrementally and fail fast
//     (1007) in the chunk where the first invalid byte arrives, also for
//     code points split across frames or input chunks.
//   - §7.1.1–§7.1.7 and §7.4: the closing handshake (open → closing →
//     closed, recording which side started it), "fail the WebSocket
//     connection" (queue a Close frame with the right status code and
//     report the error), limits (1009).
//
// The machine does no I/O, starts no goroutines, uses no timers and does
// not allocate in steady state. A driver (the root package websocket, an
// event loop, a test) moves bytes:
//
//	c, err := conn.New(conn.Config{Role: conn.Server})
//	...
//	// Input: parse events straight out of the read buffer.
//	for {
//		ev, n, err := c.Next(buf[r:w])
//		r += n
//		if err != nil {
//			// The connection failed (§7.1.7): flush c.Pending() (it holds
//			// the Close frame with the status code), then close the socket.
//		}
//		if ev.Kind == conn.EventNone && n == 0 {
//			break // need more input (or, when c.PayloadRemaining() > 0,
//			// read the payload straight into its destination and call
//			// c.ReadPayload)
//		}
//		handle(ev) // ev.Data aliases buf (or c's control buffer) until the next call
//	}
//	// Output the machine wants sent (Pong, Close reply, failure Close),
//	// always written before frames the application appends:
//	for len(c.Pending()) > 0 {
//		n, err := sock.Write(c.Pending())
//		c.Advance(n)
//		...
//	}
//	// Output the application wants sent (refused with an error, before
//	// any byte is appended, when it would break RFC 6455):
//	out, err = c.AppendFrame(out[:0], frame.OpText, 0, msg)
//
// Input may be chopped arbitrarily, down to one byte per call: Next
// consumes nothing and returns no event when it needs more bytes, and the
// sequence of events and the final verdict are the same for every chopping
// (only the split of message data into chunks differs).
//
// A Conn is not safe for concurrent use: the driver serializes every call
// (one mutex is enough, since no method blocks; Next may queue a Pong or a
// Close reply that the writing side then flushes from Pending).
//
// Extensions: Config.AllowedRSV lists the RSV bits a negotiated extension
// owns. RSV1 is the per-message "compressed" bit of permessage-deflate
// (RFC 7692 §6): it is allowed only on the first frame of a data message,
// never on continuation or control frames. With Config.Inflater set, the
// payload of a message whose first frame has RSV1 is decompressed before it
// is delivered, and MaxMessageSize counts decompressed bytes.
package conn
