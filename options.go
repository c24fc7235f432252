package websocket

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/handshake"
)

// deflateServer negotiates permessage-deflate for Accept and Upgrade. It
// asks clients for client_no_context_takeover when they allow it, so that
// an idle server connection holds no decompression window.
var deflateServer = &deflate.Server{}

// Default values used when the corresponding Options field is zero.
const (
	// DefaultCloseTimeout bounds the closing handshake (Close, and the
	// reply to a peer's Close).
	DefaultCloseTimeout = 5 * time.Second
	// DefaultHandshakeTimeout bounds reading the request head in Upgrade.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultFragmentSize is the payload size of the frames NextWriter
	// sends.
	DefaultFragmentSize = 32 << 10
	// DefaultReadBufferSize is the size of the read buffer, allocated on
	// the first read.
	DefaultReadBufferSize = 4 << 10
	// DefaultCompressionThreshold: WriteMessage sends messages shorter
	// than this uncompressed even when permessage-deflate was negotiated.
	DefaultCompressionThreshold = 128
	// DefaultMaxMessageSize bounds a received message (after any
	// decompression): 32 MiB. Larger messages fail the connection with
	// 1009 (RFC 6455 §7.4.1). It is the state machine's default.
	DefaultMaxMessageSize = conn.DefaultMaxMessageSize
)

// Options are the connection settings shared by Dial, Accept and Upgrade.
// The zero value is valid: no heartbeat, no deadlines, defaults above.
type Options struct {
	// MaxMessageSize bounds the size of a received message in bytes; 0
	// means DefaultMaxMessageSize, negative means no limit beyond what the
	// state machine enforces.
	MaxMessageSize int64
	// FragmentSize is the payload size of each frame NextWriter sends;
	// 0 means DefaultFragmentSize.
	FragmentSize int
	// ReadBufferSize is the size of the socket read buffer; 0 means
	// DefaultReadBufferSize. It is allocated on the first read, so an idle
	// connection that was never read from holds none.
	ReadBufferSize int

	// PingInterval, when positive, sends a Ping every PingInterval. The
	// ticks fall on multiples of PingInterval/16 of the clock, so a Ping
	// may be up to that much later: the heartbeats of many connections
	// then fire together, and their Pongs are read together.
	// PongTimeout, when positive, closes the connection with a *CloseError
	// whose Err is ErrHeartbeatTimeout if no frame at all (a Pong or
	// anything else) arrives within PongTimeout after a heartbeat Ping.
	// Both are off by default; PongTimeout without PingInterval does
	// nothing. Frames are only seen while a goroutine is reading (see the
	// package documentation), so a heartbeat needs a reader.
	PingInterval time.Duration
	PongTimeout  time.Duration

	// Compression negotiates permessage-deflate (RFC 7692): Dial offers
	// it, Accept and Upgrade accept a client's offer. Received compressed
	// messages are inflated (MaxMessageSize counts inflated bytes); sent
	// messages are compressed when at least CompressionThreshold bytes
	// (WriteMessage) or always (NextWriter). WriteFrame never compresses:
	// with frame.Compressed the payload must already be compressed, and
	// WriteFrame(op, 0, p) is the way to send one message uncompressed on
	// a compressed connection (the window is untouched, RFC 7692 §6). Off
	// by default. Compressed messages are not covered by the zero
	// allocation guarantee.
	Compression bool
	// CompressionLevel trades speed for size: 1 to 3 are the fastest
	// (one hash probe per position, skipping faster through input that
	// does not match), 4 to 9 look harder (every position, lazy
	// matching: a few percent smaller, slower); 0 means 1. See
	// deflate.Compressor.
	CompressionLevel int
	// CompressionThreshold: shorter messages go out uncompressed; 0 means
	// DefaultCompressionThreshold.
	CompressionThreshold int

	// CloseTimeout bounds the closing handshake: how long Close waits for
	// the peer's Close frame and, on a client, for the server to close
	// TCP. 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration

	// The callbacks below run on the reading goroutine while it holds the
	// read side: they must return quickly and must not read from the Conn
	// or wait for Close (which waits for the reader). Writing, including
	// Ping and WriteMessage, is fine.
	//
	// OnPing is called, on the reading goroutine, for every Ping received,
	// after the Pong reply was queued. payload is valid only during the
	// call.
	OnPing func(payload []byte)
	// OnPong is called, on the reading goroutine, for every Pong received.
	// payload is valid only during the call.
	OnPong func(payload []byte)
	// OnClose is called once, on the reading goroutine, when the peer's
	// Close frame arrives, before the reply is sent.
	OnClose func(code CloseCode, reason string)

	// Trace, when non-nil, is called for every frame sent or received, on
	// the goroutine that reads or writes it. When nil, tracing costs one
	// nil check per frame.
	Trace func(TraceEvent)
	// TracePayload makes TraceEvent.Payload carry the payload of each
	// whole frame that passes in one piece (control frames and small data
	// frames). Large or streamed frames are traced without payload.
	TracePayload bool

	// SkipUTF8Validation turns off the check that text sent with
	// WriteMessage, NextWriter or WriteFrame is valid UTF-8, for callers
	// that guarantee it (the check costs about as much as a copy of the
	// message; see docs/performance.md). Invalid text on the wire makes
	// every strict peer fail the connection with 1007 (RFC 6455 §8.1).
	SkipUTF8Validation bool
}

// Direction is the direction of a traced frame.
type Direction uint8

const (
	// Received: a frame read from the peer.
	Received Direction = iota
	// Sent: a frame written to the peer.
	Sent
)

func (d Direction) String() string {
	if d == Sent {
		return "sent"
	}
	return "received"
}

// TraceEvent describes one frame for Options.Trace.
type TraceEvent struct {
	Direction Direction
	// Header is the frame header as on the wire (Length is the payload
	// length).
	Header frame.Header
	// Payload is the unmasked payload when Options.TracePayload is set and
	// the frame is available in one piece, else nil. It is valid only
	// during the call.
	Payload []byte
}

// DialOptions configure Dial. A nil *DialOptions means all defaults.
type DialOptions struct {
	Options

	// Header holds extra request headers (Cookie, Authorization…).
	Header http.Header
	// Origin, if set, is sent as the Origin header.
	Origin string
	// Subprotocols are offered in Sec-WebSocket-Protocol, in order of
	// preference (RFC 6455 §4.1).
	Subprotocols []string

	// TLSConfig is used for wss URLs; nil means a default configuration.
	// ServerName is set from the URL when empty.
	TLSConfig *tls.Config
	// Proxy returns the proxy for a request; the request's URL has scheme
	// http (for ws) or https (for wss). Use NoProxy to dial directly.
	//
	// nil means the environment: http.ProxyFromEnvironment (HTTP_PROXY for
	// ws, HTTPS_PROXY for wss, NO_PROXY, in upper or lower case), and when
	// that names no proxy, ALL_PROXY (or all_proxy) unless NO_PROXY (or
	// no_proxy) excludes the host; as net/http does, localhost and
	// loopback addresses are never proxied from the environment.
	//
	// Proxy URL schemes: http (HTTP CONNECT, RFC 9110 §9.3.6) and https
	// (CONNECT over TLS), user info sent as Proxy-Authorization Basic, a
	// refused CONNECT a *ProxyError with the proxy's status, header and body;
	// socks5 and socks5h (SOCKS5, RFC 1928; default port 1080), user info
	// sent as username/password (RFC 1929). With socks5 Dial resolves the
	// host and sends an address; with socks5h it sends the host name and
	// the proxy resolves it. A SOCKS5 refusal is a *SOCKSError.
	Proxy func(*http.Request) (*url.URL, error)
	// NetDial dials TCP; nil means a net.Dialer. It must honour ctx.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Jar, if set, supplies the cookies sent with the handshake request
	// (after any Cookie field in Header) and stores the cookies of the
	// server's answer, from the 101 and from a refusal alike. The jar
	// knows a ws URL as http and a wss URL as https, as browsers do, so
	// it can be shared with an http.Client.
	Jar http.CookieJar
	// CompressionOffers are the permessage-deflate offers Dial sends when
	// Compression is set, in order of preference, so that a later one is
	// the fallback for a server that declines an earlier one (RFC 7692
	// §5); nil means deflate.DefaultOffers, the most permissive offer.
	CompressionOffers []deflate.Offer
}

// NoProxy is a DialOptions.Proxy that never uses a proxy.
func NoProxy(*http.Request) (*url.URL, error) { return nil, nil }

// AcceptOptions configure Accept and Upgrade. A nil *AcceptOptions means
// all defaults.
type AcceptOptions struct {
	Options

	// Subprotocols the server supports, in order of preference: the first
	// one the client also offered is chosen.
	Subprotocols []string
	// OriginPatterns and CheckOrigin are the origin policy of
	// handshake.ServerOptions: by default a request with an Origin header
	// is accepted only from the same host (browsers' cross-site requests
	// are refused with 403); requests without Origin are accepted.
	OriginPatterns []string
	CheckOrigin    func(origin, host string) bool
	// Header holds extra header fields for the 101 response.
	Header http.Header
	// HandshakeTimeout bounds reading the request head in Upgrade (raw
	// sockets), so a slow or silent client cannot hold the connection; 0
	// means DefaultHandshakeTimeout, negative means no bound. The head is
	// also bounded in size (8 KiB and 64 header lines: 431 above). Accept
	// relies on the http.Server instead: set its ReadHeaderTimeout (for
	// example 10 s) and MaxHeaderBytes (for example 16 KiB), which are
	// unbounded or 1 MiB by default.
	HandshakeTimeout time.Duration
	// OnRequest, if set, sees every request that passed the protocol
	// checks (on Accept and on Upgrade alike) before the 101 is written:
	// method, target, header fields, remote address and the offered
	// subprotocols, so a server can authenticate (a token in the query
	// or a header), route by path, or choose the subprotocol
	// (Request.Subprotocol). Returning Reject(status, header, body)
	// refuses the request with exactly that response (401 with
	// WWW-Authenticate, 404, 429 with Retry-After…); any other error
	// refuses it with 403 and a body that does not show the error; a
	// panic refuses it with 500. Accept and Upgrade then return the error
	// (a *RejectError for a Reject). On Upgrade the hook costs the
	// Request, its header map and URL: 33 allocations for a request of
	// six header fields (TestUpgradeHookAllocs); without it the raw path
	// allocates only the Conn.
	OnRequest func(r *Request) error
	// CompressionServer is the server's permessage-deflate policy when
	// Compression is set (which parameters it insists on, RFC 7692 §7.1);
	// nil accepts the first acceptable offer as the client made it.
	CompressionServer *deflate.Server
}

func (o *AcceptOptions) server() *handshake.ServerOptions {
	var exts []handshake.ServerExtension
	if o.Compression {
		srv := deflateServer
		if o.CompressionServer != nil {
			srv = o.CompressionServer
		}
		exts = []handshake.ServerExtension{srv}
	}
	return &handshake.ServerOptions{
		Extensions:     exts,
		Subprotocols:   o.Subprotocols,
		OriginPatterns: o.OriginPatterns,
		CheckOrigin:    o.CheckOrigin,
		Header:         o.Header,
		Timeout:        o.handshakeTimeout(),
	}
}

func (o *AcceptOptions) handshakeTimeout() time.Duration {
	switch {
	case o.HandshakeTimeout < 0:
		return 0 // no bound
	case o.HandshakeTimeout == 0:
		return DefaultHandshakeTimeout
	}
	return o.HandshakeTimeout
}

func (o *Options) closeTimeout() time.Duration {
	if o.CloseTimeout > 0 {
		return o.CloseTimeout
	}
	return DefaultCloseTimeout
}

func (o *Options) fragmentSize() int {
	if o.FragmentSize > 0 {
		return o.FragmentSize
	}
	return DefaultFragmentSize
}

func (o *Options) readBufferSize() int {
	if o.ReadBufferSize > 0 {
		return o.ReadBufferSize
	}
	return DefaultReadBufferSize
}

func (o *Options) compressionLevel() int {
	if o.CompressionLevel > 0 {
		return min(o.CompressionLevel, 9)
	}
	return 1
}

func (o *Options) compressionThreshold() int {
	if o.CompressionThreshold > 0 {
		return o.CompressionThreshold
	}
	return DefaultCompressionThreshold
}

func (o *Options) maxMessageSize() int64 {
	switch {
	case o.MaxMessageSize > 0:
		return o.MaxMessageSize
	case o.MaxMessageSize < 0:
		return -1
	}
	return DefaultMaxMessageSize
}

// optionsKey is Options without its callbacks: the fields that make two
// Options equal when neither has a callback (TestOptionsKeyComplete keeps
// it in step with Options).
type optionsKey struct {
	MaxMessageSize       int64
	FragmentSize         int
	ReadBufferSize       int
	PingInterval         time.Duration
	PongTimeout          time.Duration
	Compression          bool
	CompressionLevel     int
	CompressionThreshold int
	CloseTimeout         time.Duration
	TracePayload         bool
	SkipUTF8Validation   bool
}

// key returns o's optionsKey, and whether o has no callback (then the key
// tells o whole).
func (o *Options) key() (optionsKey, bool) {
	return optionsKey{
		MaxMessageSize:       o.MaxMessageSize,
		FragmentSize:         o.FragmentSize,
		ReadBufferSize:       o.ReadBufferSize,
		PingInterval:         o.PingInterval,
		PongTimeout:          o.PongTimeout,
		Compression:          o.Compression,
		CompressionLevel:     o.CompressionLevel,
		CompressionThreshold: o.CompressionThreshold,
		CloseTimeout:         o.CloseTimeout,
		TracePayload:         o.TracePayload,
		SkipUTF8Validation:   o.SkipUTF8Validation,
	}, o.OnPing == nil && o.OnPong == nil && o.OnClose == nil && o.Trace == nil
}

// sharedOptions is the last copy of callback-free Options that newConn
// made; connections with the same settings share it.
var sharedOptions atomic.Pointer[Options]

// frozenOptions returns a copy of o that no one modifies, for a Conn to
// keep. The connections of one server usually have the same Options: a
// copy without callbacks is shared by every Conn whose settings equal it,
// so a connection holds a pointer instead of its own copy (functions
// cannot be compared, so Options with a callback are copied for each).
func frozenOptions(o *Options) *Options {
	k, plain := o.key()
	if plain {
		if s := sharedOptions.Load(); s != nil {
			if sk, _ := s.key(); sk == k {
				return s
			}
		}
	}
	f := new(Options)
	*f = *o
	if plain {
		sharedOptions.Store(f)
	}
	return f
}
