package websocket

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/handshake"
)

// Defaults of ReconnectOptions, used when the corresponding field is zero.
const (
	// DefaultReconnectDelay is the cap of the first backoff wait: the
	// wait before attempt n is a random duration in [0, min(MaxDelay,
	// Delay×Multiplier^(n-1))) ("full jitter").
	DefaultReconnectDelay = 1 * time.Second
	// DefaultReconnectMaxDelay caps every backoff wait.
	DefaultReconnectMaxDelay = 30 * time.Second
	// DefaultReconnectMultiplier is the growth of the backoff cap per
	// consecutive failure.
	DefaultReconnectMultiplier = 2.0
	// DefaultReconnectResetAfter: a connection that stayed up this long
	// resets the backoff, so the next drop is retried from the first step.
	DefaultReconnectResetAfter = 1 * time.Minute
	// DefaultReconnectDialTimeout bounds each attempt (TCP, proxy, TLS and
	// the opening handshake).
	DefaultReconnectDialTimeout = 30 * time.Second
	// DefaultReconnectPingInterval and DefaultReconnectPongTimeout are the
	// heartbeat of a Reconnector's connections when Options.PingInterval
	// is 0: without it a peer that vanished without a FIN or RST (a
	// half-open connection: a dead host, a NAT or a load balancer that
	// dropped the flow) is never noticed and nothing reconnects.
	DefaultReconnectPingInterval = 25 * time.Second
	DefaultReconnectPongTimeout  = 20 * time.Second
)

// Errors of Reconnector.WriteMessage.
var (
	// ErrNotConnected: the Reconnector has no live connection and no
	// queue (ReconnectOptions.QueueLimit is 0). The message was not sent.
	ErrNotConnected = errors.New("websocket: reconnect: not connected")
	// ErrQueueFull: the Reconnector has no live connection and the
	// message does not fit in what is left of
	// ReconnectOptions.QueueLimit. The message was not queued; nothing
	// already queued was dropped.
	ErrQueueFull = errors.New("websocket: reconnect: outgoing queue full")
	// ErrReconnectorClosed: Run has returned (or Close was called); no
	// message is sent or queued any more.
	ErrReconnectorClosed = fmt.Errorf("websocket: reconnect: %w", net.ErrClosed)
)

// ReconnectOptions configure a Reconnector. A nil *ReconnectOptions means
// all defaults.
type ReconnectOptions struct {
	// DialOptions are used for every dial: headers, TLS, proxy, and the
	// connection Options. When Options.PingInterval is 0 the heartbeat is
	// on with DefaultReconnectPingInterval and DefaultReconnectPongTimeout
	// (a negative PingInterval turns it off, and with it the detection of
	// half-open connections).
	DialOptions

	// DialTimeout bounds each attempt; 0 means DefaultReconnectDialTimeout.
	DialTimeout time.Duration

	// Delay, MaxDelay and Multiplier shape the exponential backoff with
	// full jitter: after n consecutive failures the wait is a uniformly
	// random duration in [0, min(MaxDelay, Delay×Multiplier^(n-1))).
	// Zero values mean DefaultReconnectDelay, DefaultReconnectMaxDelay and
	// DefaultReconnectMultiplier; a Multiplier below 1 means 1.
	Delay      time.Duration
	MaxDelay   time.Duration
	Multiplier float64
	// ResetAfter: a connection that stayed up at least this long resets
	// the count of consecutive failures when it ends. A connection that
	// ends sooner counts as a failure, so a server that accepts and at
	// once drops a client is retried with growing waits, not in a tight
	// loop. 0 means DefaultReconnectResetAfter.
	ResetAfter time.Duration

	// FinalCloseCodes are close codes after which the application does
	// not want to reconnect (for example its own 4xxx code for "account
	// disabled"). A connection that ends with one of them, whoever sent
	// it, ends Run with its *CloseError. Every other end of a connection
	// is retried: 1001, 1006 (EOF, reset, heartbeat timeout), 1011, 1012,
	// 1013 and the rest.
	FinalCloseCodes []CloseCode

	// QueueLimit, when positive, holds messages written while no
	// connection is live in a queue of at most QueueLimit bytes of
	// payload; they are sent, in order, after OnConnect of the next
	// connection and before any later message. A message that does not
	// fit is refused with ErrQueueFull; none is ever dropped without its
	// writer or the Stopped event being told. 0 means no queue: writes
	// while disconnected return ErrNotConnected.
	QueueLimit int

	// OnConnect, when set, runs after each successful handshake, before
	// the Reconnector starts reading and before queued messages are sent:
	// the place to authenticate and re-subscribe. It may read and write c
	// (for example wait for the answer to a login message). ctx ends when
	// Run's context ends or Close is called. An error closes c and counts
	// as a failed attempt: retried after the backoff, unless it is wrapped
	// with Permanent.
	OnConnect func(ctx context.Context, c *Conn) error
	// OnMessage, when set, is called for every message received, on Run's
	// goroutine. p is valid only during the call. It may write to c (or
	// through the Reconnector). Messages are discarded when it is nil.
	OnMessage func(c *Conn, typ MessageType, p []byte)
	// OnEvent, when set, is called on Run's goroutine for every attempt,
	// every connection and every end, with why: the dial error, the
	// previous connection's *CloseError, the wait before the next attempt.
	// It must return quickly.
	OnEvent func(ReconnectEvent)
}

// ReconnectEventKind says what a ReconnectEvent reports.
type ReconnectEventKind uint8

const (
	// Dialing: attempt number Attempt starts.
	Dialing ReconnectEventKind = iota + 1
	// Connected: the handshake succeeded and OnConnect returned nil; Conn
	// is the new connection.
	Connected
	// DialFailed: the attempt failed (Err: the dial error, the handshake
	// refusal, or OnConnect's error). Final says whether Run stops; if
	// not, Delay is the wait before the next attempt.
	DialFailed
	// Disconnected: the live connection ended. Err is its *CloseError
	// (Code, Reason, Initiator: who closed; Err: the cause), Up how long it
	// was live. Final says whether Run stops; if not, Delay is the wait
	// before the next attempt.
	Disconnected
	// Stopped: Run returns Err (nil after Close). Unsent holds the
	// queued messages that were never sent.
	Stopped
)

func (k ReconnectEventKind) String() string {
	switch k {
	case Dialing:
		return "dialing"
	case Connected:
		return "connected"
	case DialFailed:
		return "dial failed"
	case Disconnected:
		return "disconnected"
	case Stopped:
		return "stopped"
	}
	return "ReconnectEventKind(" + strconv.Itoa(int(k)) + ")"
}

// ReconnectEvent is one report of a Reconnector, for
// ReconnectOptions.OnEvent. Its String is a log line.
type ReconnectEvent struct {
	Kind ReconnectEventKind
	// Attempt counts dials since Run started, from 1.
	Attempt int
	// Failures is the number of consecutive failures that set Delay (the
	// backoff step); a connection that stayed up ResetAfter resets it.
	Failures int
	// Err: see the kinds.
	Err error
	// Final: Run stops after this event.
	Final bool
	// Delay is the wait before the next attempt (DialFailed,
	// Disconnected), at least the server's Retry-After on a 429 or 503.
	Delay time.Duration
	// Up is how long the connection was live (Disconnected).
	Up time.Duration
	// Conn is the new connection (Connected).
	Conn *Conn
	// Unsent are the queued messages that were never sent (Stopped).
	Unsent []QueuedMessage
}

func (e ReconnectEvent) String() string {
	var b strings.Builder
	b.WriteString("websocket: reconnect: ")
	b.WriteString(e.Kind.String())
	if e.Attempt > 0 {
		fmt.Fprintf(&b, " (attempt %d)", e.Attempt)
	}
	if e.Kind == Disconnected {
		fmt.Fprintf(&b, " after %v", e.Up.Round(time.Millisecond))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	switch {
	case e.Final && e.Kind != Stopped:
		b.WriteString("; giving up")
	case e.Kind == DialFailed || e.Kind == Disconnected:
		fmt.Fprintf(&b, "; retrying in %v", e.Delay.Round(time.Millisecond))
	}
	if len(e.Unsent) > 0 {
		fmt.Fprintf(&b, "; %d queued messages unsent", len(e.Unsent))
	}
	return b.String()
}

// QueuedMessage is a message held while disconnected.
type QueuedMessage struct {
	Type MessageType
	Data []byte
}

// Permanent wraps err so that a Reconnector stops instead of retrying when
// OnConnect returns it (for example a login the server refused).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// A Reconnector keeps one logical WebSocket connection to a URL alive
// across drops: Run dials, runs OnConnect, reads messages into OnMessage,
// and when the connection ends or a dial fails, waits (exponential backoff
// with full jitter, or the server's Retry-After) and dials again, until a
// failure that retrying cannot fix, Run's context ends, or Close.
//
// Permanent failures end Run with their error: a malformed URL, a TLS
// certificate that does not verify, a handshake refused with a 3xx or 4xx
// status other than 408 and 429 (400, 401, 403, 404, 426…) or a 101 that
// fails the client's checks, the same statuses from an HTTP proxy refusing
// CONNECT (407, 403…), a SOCKS5 proxy refusing the credentials or the
// request by its rules (reply 2, or 7 and 8) or not speaking SOCKS5, a
// close code in FinalCloseCodes, and errors of OnConnect wrapped with
// Permanent. Everything else is retried: refused or reset TCP, timeouts,
// DNS errors, 408, 429 and 5xx answers (after at least the Retry-After of
// a server's 429 or 503), other SOCKS5 replies (host unreachable,
// connection refused…), and every other end of
// a live connection (1001 going away, 1006 abnormal, 1011, 1012 service
// restart, 1013 try again later, a heartbeat timeout…).
//
// The name follows the noun-for-the-doer style of http.Client and
// gorilla's Dialer: a Reconnector is a client that reconnects (Redialer
// would suggest it only dials, and it also reads, re-subscribes and
// queues). Create one with NewReconnector, run Run on a goroutine, write
// with WriteMessage from any goroutine, stop with Close or by ending Run's
// context. Everything it starts has ended when Run returns.
type Reconnector struct {
	url  string
	opts ReconnectOptions // with defaults applied

	// Test hooks: the clock, the backoff wait and the jitter's source.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	rand  func() float64

	running atomic.Bool

	// wmu orders writes: it is held while a new connection's queue is
	// flushed, so no message overtakes a queued one.
	wmu sync.Mutex

	mu     sync.Mutex
	cur    *Conn // the connection being set up or live, for Close
	live   *Conn // the connection writes go to (OnConnect done, queue flushed)
	queue  []QueuedMessage
	qbytes int
	closed bool // Close was called
	ended  bool // Run returned
	cancel context.CancelFunc
}

// NewReconnector returns a Reconnector for a ws:// or wss:// URL. Nothing
// happens until Run.
func NewReconnector(rawURL string, opts *ReconnectOptions) *Reconnector {
	r := &Reconnector{
		url:   rawURL,
		now:   time.Now,
		sleep: sleepContext,
		rand:  rand.Float64,
	}
	if opts != nil {
		r.opts = *opts
	}
	o := &r.opts
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultReconnectDialTimeout
	}
	if o.Delay <= 0 {
		o.Delay = DefaultReconnectDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultReconnectMaxDelay
	}
	if o.Multiplier == 0 {
		o.Multiplier = DefaultReconnectMultiplier
	}
	o.Multiplier = max(o.Multiplier, 1)
	if o.ResetAfter <= 0 {
		o.ResetAfter = DefaultReconnectResetAfter
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultReconnectPingInterval
		if o.PongTimeout == 0 {
			o.PongTimeout = DefaultReconnectPongTimeout
		}
	}
	o.FinalCloseCodes = slices.Clone(o.FinalCloseCodes)
	return r
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errRunTwice = errors.New("websocket: reconnect: Run called twice")

// Run keeps the connection alive until a permanent failure, which it
// returns, ctx ends (it returns ctx.Err()) or Close is called (it returns
// nil). A live connection is closed with 1001 (going away) when ctx ends
// and with 1000 on Close. Run may be called once.
func (r *Reconnector) Run(ctx context.Context) (err error) {
	if !r.running.CompareAndSwap(false, true) {
		return errRunTwice
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	closed := r.closed
	r.cancel = cancel
	r.mu.Unlock()
	defer func() { r.stop(err) }()
	if closed {
		return nil
	}
	if err := checkURL(r.url); err != nil {
		return err
	}

	failures := 0
	for attempt := 1; ; attempt++ {
		r.event(ReconnectEvent{Kind: Dialing, Attempt: attempt, Failures: failures})
		c, err := r.connect(ctx)
		if err != nil {
			if end, ok := r.stopReason(ctx); ok {
				return end
			}
			failures++
			ev := ReconnectEvent{Kind: DialFailed, Attempt: attempt, Failures: failures, Err: err}
			if r.permanent(err) {
				ev.Final = true
				r.event(ev)
				return err
			}
			ev.Delay = r.backoff(failures, retryAfter(err, r.now()))
			r.event(ev)
			if r.sleep(ctx, ev.Delay) != nil {
				end, _ := r.stopReason(ctx)
				return end
			}
			continue
		}

		start := r.now()
		r.event(ReconnectEvent{Kind: Connected, Attempt: attempt, Failures: failures, Conn: c})
		err = r.serve(ctx, c)
		up := r.now().Sub(start)
		r.mu.Lock()
		r.cur, r.live = nil, nil
		r.mu.Unlock()
		if end, ok := r.stopReason(ctx); ok {
			return end
		}
		if up >= r.opts.ResetAfter {
			failures = 0
		}
		failures++
		ev := ReconnectEvent{Kind: Disconnected, Attempt: attempt, Failures: failures, Err: err, Up: up}
		if r.permanent(err) {
			ev.Final = true
			r.event(ev)
			return err
		}
		ev.Delay = r.backoff(failures, 0)
		r.event(ev)
		if r.sleep(ctx, ev.Delay) != nil {
			end, _ := r.stopReason(ctx)
			return end
		}
	}
}

// stopReason reports whether Run must stop because Close was called (nil)
// or ctx ended (its error).
func (r *Reconnector) stopReason(ctx context.Context) (err error, stop bool) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, true
	}
	if err := ctx.Err(); err != nil {
		return err, true
	}
	return nil, false
}

// stop marks the Reconnector ended, takes the unsent queue and reports
// Stopped.
func (r *Reconnector) stop(err error) {
	r.wmu.Lock()
	r.mu.Lock()
	r.ended = true
	unsent := r.queue
	r.queue, r.qbytes = nil, 0
	r.cur, r.live = nil, nil
	r.mu.Unlock()
	r.wmu.Unlock()
	r.event(ReconnectEvent{Kind: Stopped, Err: err, Final: true, Unsent: unsent})
}

func (r *Reconnector) event(ev ReconnectEvent) {
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(ev)
	}
}

// connect dials once, runs OnConnect and flushes the queue. On success the
// connection is live.
func (r *Reconnector) connect(ctx context.Context) (*Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, r.opts.DialTimeout)
	c, _, err := Dial(dctx, r.url, &r.opts.DialOptions)
	cancel()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		c.CloseNow()
		return nil, ErrReconnectorClosed
	}
	r.cur = c
	r.mu.Unlock()
	fail := func(err error) (*Conn, error) {
		r.mu.Lock()
		r.cur = nil
		r.mu.Unlock()
		ce := c.closed()
		c.Close(CloseNormal, "") // returns at once if c already ended
		if ce != nil && !errors.As(err, new(*CloseError)) {
			// Say how the connection ended if err does not.
			return nil, fmt.Errorf("%w (%v)", err, ce)
		}
		return nil, err
	}
	if r.opts.OnConnect != nil {
		if err := r.opts.OnConnect(ctx, c); err != nil {
			return fail(fmt.Errorf("websocket: reconnect: OnConnect: %w", err))
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	// Flush the queue under wmu, so that later writes wait for it.
	r.wmu.Lock()
	defer r.wmu.Unlock()
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.live = c
			r.mu.Unlock()
			return c, nil
		}
		m := r.queue[0]
		r.mu.Unlock()
		if err := c.WriteMessage(m.Type, m.Data); err != nil {
			// The message stays queued: it may have reached the peer
			// (a write cut by a reset), so it may arrive twice.
			return fail(fmt.Errorf("websocket: reconnect: sending queued messages: %w", err))
		}
		r.mu.Lock()
		r.queue[0] = QueuedMessage{}
		r.queue = r.queue[1:]
		r.qbytes -= len(m.Data)
		r.mu.Unlock()
	}
}

// serve reads c until it ends and returns how it ended (a *CloseError).
// When ctx ends it closes c with 1001 and waits for that to finish.
func (r *Reconnector) serve(ctx context.Context, c *Conn) error {
	closing := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closing)
		c.Close(CloseGoingAway, "")
	})
	defer func() {
		if !stop() {
			<-closing
		}
	}()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(buf)
		if err != nil {
			if c.closed() == nil {
				// Not an end of the connection (a Conn without a read
				// deadline does not time out): end it, to reconnect.
				c.CloseNow()
				return fmt.Errorf("websocket: reconnect: read: %w", err)
			}
			return err
		}
		if r.opts.OnMessage != nil {
			r.opts.OnMessage(c, typ, msg)
		}
		buf = msg[:0]
	}
}

// permanent reports whether retrying err cannot help.
func (r *Reconnector) permanent(err error) bool {
	if errors.As(err, new(*permanentError)) {
		return true
	}
	var ce *CloseError
	if errors.As(err, &ce) {
		return slices.Contains(r.opts.FinalCloseCodes, ce.Code)
	}
	var re *handshake.ResponseError
	if errors.As(err, &re) {
		return permanentStatus(re.StatusCode) // a 101 failing the checks too
	}
	var pe *ProxyError
	if errors.As(err, &pe) {
		return permanentStatus(pe.StatusCode)
	}
	var se *SOCKSError
	if errors.As(err, &se) {
		// Credentials and the proxy's rules stay as they are; a target
		// that is down or unreachable may come back.
		return se.Auth || se.Reply == 2 || se.Reply == 7 || se.Reply == 8
	}
	return isTLSVerification(err) || errors.As(err, new(*urlError)) || errors.Is(err, ErrSOCKSProtocol)
}

// permanentStatus reports whether an HTTP answer of status (from the
// server or a proxy) is one that retrying cannot change: any but 408, 429
// and 5xx (and 0, a response too malformed to have one).
func permanentStatus(s int) bool {
	switch {
	case s == 0, s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
		return false
	}
	return true
}

// isTLSVerification reports whether err is a failed check of the server's
// certificate, which no retry fixes.
func isTLSVerification(err error) bool {
	return errors.As(err, new(*tls.CertificateVerificationError)) ||
		errors.As(err, new(x509.UnknownAuthorityError)) ||
		errors.As(err, new(x509.HostnameError)) ||
		errors.As(err, new(x509.CertificateInvalidError))
}

// retryAfter returns the wait a 429 or 503 answer asks for in its
// Retry-After header (RFC 9110 §10.2.3: seconds or an HTTP date), or 0.
func retryAfter(err error, now time.Time) time.Duration {
	var re *handshake.ResponseError
	if !errors.As(err, &re) || (re.StatusCode != http.StatusTooManyRequests && re.StatusCode != http.StatusServiceUnavailable) {
		return 0
	}
	v := strings.TrimSpace(re.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// backoff returns the wait after n consecutive failures: full jitter under
// min(MaxDelay, Delay×Multiplier^(n-1)), and at least retry.
func (r *Reconnector) backoff(n int, retry time.Duration) time.Duration {
	limit := float64(r.opts.Delay)
	for i := 1; i < n && limit < float64(r.opts.MaxDelay); i++ {
		limit *= r.opts.Multiplier
	}
	limit = min(limit, float64(r.opts.MaxDelay))
	d := time.Duration(r.rand() * limit)
	return max(d, retry)
}

// urlError is a URL the Reconnector can never dial.
type urlError struct{ msg string }

func (e *urlError) Error() string { return "websocket: reconnect: " + e.msg }

// checkURL refuses, before any dial, a URL that no retry can fix.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &urlError{err.Error()}
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return &urlError{fmt.Sprintf("URL scheme must be ws or wss, not %q", u.Scheme)}
	}
	if u.Host == "" {
		return &urlError{fmt.Sprintf("URL %q has no host", raw)}
	}
	if u.Fragment != "" {
		return &urlError{"URL must not have a fragment"}
	}
	return nil
}

// WriteMessage sends a message on the live connection. While there is
// none, or while it is closing, it queues a copy
// (ReconnectOptions.QueueLimit), or returns
// ErrNotConnected without a queue and ErrQueueFull when the message does
// not fit; after Run returned it returns ErrReconnectorClosed. An error
// from the live connection (it ended during the write) is returned as is:
// the message may or may not have arrived, and it is not queued.
// It is safe to call from any goroutine, including OnMessage.
func (r *Reconnector) WriteMessage(typ MessageType, p []byte) error {
	if _, err := typ.opcode(); err != nil {
		return err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	if r.closed || r.ended {
		r.mu.Unlock()
		return ErrReconnectorClosed
	}
	if c := r.live; c != nil && c.closed() == nil {
		r.mu.Unlock()
		err := c.WriteMessage(typ, p)
		if !errors.Is(err, conn.ErrWriteCloseSent) {
			return err
		}
		// The connection is closing: the message was refused before
		// any byte went out, so it can wait for the next one.
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	if r.opts.QueueLimit <= 0 {
		return ErrNotConnected
	}
	if typ == Text && !r.opts.SkipUTF8Validation && !validText(p) {
		return ErrInvalidText
	}
	if len(p) > r.opts.QueueLimit-r.qbytes {
		return fmt.Errorf("%w: %d of %d bytes in use, the message has %d", ErrQueueFull, r.qbytes, r.opts.QueueLimit, len(p))
	}
	r.queue = append(r.queue, QueuedMessage{Type: typ, Data: append([]byte(nil), p...)})
	r.qbytes += len(p)
	return nil
}

// Queued returns the number of messages and bytes waiting in the queue.
func (r *Reconnector) Queued() (messages, bytes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue), r.qbytes
}

// Conn returns the live connection, or nil while there is none.
func (r *Reconnector) Conn() *Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live
}

// Close stops the Reconnector: a live connection is closed with 1000
// (waiting at most its CloseTimeout for the closing handshake), a dial or
// a backoff wait in progress is abandoned, and Run returns nil. Queued
// messages are not sent; the Stopped event lists them. Close does not wait
// for Run to return (so it may be called from OnMessage); a second call
// returns an error.
func (r *Reconnector) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrReconnectorClosed
	}
	r.closed = true
	c, cancel := r.cur, r.cancel
	r.mu.Unlock()
	if c != nil {
		c.Close(CloseNormal, "")
	}
	if cancel != nil {
		cancel()
	}
	return nil
}
