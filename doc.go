// Package websocket is a WebSocket (RFC 6455) connection over a net.Conn: the
// blocking driver of the sans-I/O state machine in package conn.
//
// It owns the parts of RFC 6455 that need a socket, a clock or a goroutine:
//
//   - opening the connection: Dial (ws and wss, TLS configuration, HTTP
//     CONNECT and SOCKS5 proxies from DialOptions or the environment,
//     cookies from and into DialOptions.Jar, everything bounded by a
//     context; the server's 101 comes back as a DialResult with its status
//     and header), Accept for net/http and Upgrade for raw sockets, using
//     package handshake for §4; bytes the peer sent right after its handshake
//     are kept, not lost;
//   - moving bytes between the socket and package conn, which owns every
//     protocol rule of §5 and §7 (framing, masking, fragmentation, control
//     frames, UTF-8, limits, the closing handshake states);
//   - deadlines, the heartbeat, the timing of the closing handshake (§7.1.1:
//     the server closes TCP first; §7.1.2 bounded by CloseTimeout), locking
//     for concurrent writers, buffers, and the *CloseError that says how a
//     connection ended.
//
// # Reading and writing
//
// ReadMessage reads a whole message into a caller's reusable buffer;
// NextReader streams a message of any size; WriteMessage sends a message in
// one frame; NextWriter streams one as fragments of Options.FragmentSize;
// WriteFrame writes single frames with explicit frame.Flags (FIN is set unless
// frame.More is given), validated by package conn before any byte is written.
// In steady state none of them allocates.
//
// Options.Compression negotiates permessage-deflate (RFC 7692, package
// deflate): package conn inflates received messages, WriteMessage compresses
// messages of at least CompressionThreshold bytes and NextWriter streams
// compressed fragments, RSV1 on the first frame only.
//
// # Concurrency
//
// A Conn is safe for one reader and any number of writers at the same time.
// Reading methods (ReadMessage, NextReader and its reader) must be called by
// one goroutine at a time. Writes may come from any goroutine: whole messages
// are serialized (WriteMessage, and a NextWriter until it is closed), while
// control frames — Ping, Close, and the Pongs and Close replies the reader
// queues — go out between the frames of an open NextWriter. Close and
// CloseNow may be called from any goroutine at any time. After the end every
// read and write returns the same *CloseError (Close and CloseNow return an
// error matching net.ErrClosed); between the sending of a Close frame and the
// end, writes of data return ErrCloseSent. No misuse panics.
//
// # When control frames are processed
//
// Incoming frames are only read while a goroutine is inside ReadMessage,
// NextReader or the reader's Read. That is when Pings are answered, Pongs are
// seen (Options.OnPong), the peer's Close is answered, the heartbeat learns
// that the peer is alive, and protocol violations are detected. A connection
// nobody reads from answers nothing, and its heartbeat will eventually fire.
// An application that only writes should keep a reader goroutine running (see
// Example_backgroundReader); Close reads by itself while waiting for the
// peer's Close when no reader is active.
//
// # Timeouts never end a connection
//
// There is no default deadline. A read or write that passes the deadline
// given to SetReadDeadline or SetWriteDeadline returns an error satisfying
// errors.Is(err, os.ErrDeadlineExceeded) and net.Error's Timeout, and the
// connection stays open. The next read resumes exactly where the previous
// one stopped, also mid-header, mid-payload and mid-UTF-8 sequence. A write
// whose deadline expires after its frame was committed returns an error that
// also matches ErrWriteQueued: the rest of the frame is kept and written
// first by the next write (or Flush), so no torn frame is ever followed by
// other bytes. ReadMessageContext, NextReaderContext and WriteMessageContext
// take a context instead: when it ends, they return like a deadline (the
// error also matches the context's error) and the connection stays open.
//
// The same holds over TLS (wss), in both roles and on a Loop. crypto/tls
// fails a tls.Conn for good once a write deadline fires, so a Conn never
// sets one on a *tls.Conn: its writes are handed to a goroutine of the
// connection's that writes them without a deadline, and the write deadline
// bounds only the caller's wait; bytes committed before it passes keep
// flowing, and the next write waits for them first. A write to a peer that
// stopped reading for good ends when the heartbeat or Close's timeout
// closes the connection (TestSeedScenario, TestSeedScenarioByteAtATime,
// TestReadDeadlineResumes, TestWriteTimeoutMidFrame, TestWriteDeadlineRepeated, TestContextMethods
// and TestStuckWriteEnds run over both transports).
//
// # Heartbeat
//
// With Options.PingInterval set, a Ping is sent every PingInterval. With
// Options.PongTimeout also set, when no frame at all arrives within
// PongTimeout after a heartbeat Ping, the connection is closed and every
// method returns a *CloseError with Code 1006, Initiator None and Err
// ErrHeartbeatTimeout. Both are off by default. Since frames are only read
// while someone reads, the heartbeat needs a reader.
//
// # Reconnecting
//
// A Reconnector keeps one logical connection to a URL alive across drops:
// it redials with exponential backoff and full jitter (honouring
// Retry-After), stops on failures no retry can fix (a refused handshake
// such as 401, a certificate that does not verify, a close code the
// application marks final), runs OnConnect after each connect to
// re-subscribe, reports every attempt and end with its reason, finds
// half-open connections with the heartbeat, and can queue outgoing
// messages while disconnected (ExampleReconnector; docs/troubleshooting.md,
// "Reconnecting safely").
//
// # Tunnelling
//
// NetConn turns a Conn into a net.Conn whose Writes are messages and whose
// Reads are one byte stream, to carry another protocol (HTTP/1.1, SSH…)
// through a WebSocket. Its deadlines, Close and errors behave like a TCP
// connection's, and a deadline never ends the WebSocket underneath
// (ExampleNetConn_httpTunnel; docs/troubleshooting.md, "Tunnelling another
// protocol").
//
// # Broadcast
//
// NewPreparedMessage encodes a message once; WritePreparedMessage sends it
// on any number of connections, each getting exactly what WriteMessage
// would send it. The server's frame is built once and written as it is; a
// client masks the shared payload with a fresh key per write; with
// permessage-deflate the message is compressed once per compressor
// configuration, except on a connection that keeps its compression context
// (context takeover), where it is compressed for that connection
// (ExamplePreparedMessage). A Hub broadcasts to a set of connections
// without ever waiting for one: a connection that stalls (Hub.Backlog
// messages waiting and no write finished for Hub.StallTimeout), whose
// backlog passes Hub.MaxBacklogBytes, or that fills its Loop write queue is
// dropped and closed with 1008, and Hub.OnDrop reports ErrBroadcastBacklog
// (ExampleHub). A burst that merely outruns readers that keep reading
// drops nobody.
//
// # Checking requests
//
// AcceptOptions.OnRequest sees every request that passed the protocol
// checks, on Accept and Upgrade alike, before the 101 is written: method,
// URL, header fields, remote address and offered subprotocols. It can
// authenticate (a token in the query or a header), route by path, choose
// the subprotocol, or refuse with Reject(status, header, body), which the
// client receives exactly (ExampleAcceptOptions_onRequest). docs/chat.md
// puts OnRequest, a Loop and a Hub together in a chat server.
//
// # How a connection ends
//
// Every end is a *CloseError: Code and Reason of the Close frame that started
// the closing handshake, Initiator (Local, Peer, or None when the transport
// failed), Frames (which Close frames were sent and received, in which order)
// and Err, the cause when the handshake did not complete: io.ErrUnexpectedEOF
// when the peer vanished, the system error of a reset, ErrHeartbeatTimeout,
// the *frame.ProtocolError the peer committed (we then sent a Close frame with
// its code, RFC 6455 §7.1.7), ErrCloseTimeout, or net.ErrClosed after
// CloseNow.
package websocket
