package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
)

// Exit statuses shared by connect and proxy.
const (
	exitClean    = 0 // the closing handshake completed (see cleanClose)
	exitFailed   = 1 // the connection failed or ended with another code
	exitUsage    = 2 // bad flags or arguments
	exitNoDial   = 3 // could not connect: DNS, TCP, TLS, proxy or a refused handshake
	traceMaxData = 64
)

// listFlag is a repeatable string flag (-H a -H b).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseInterleaved parses fs over args and returns the positional
// arguments, allowing flags after them (wsx connect URL -trace); "--"
// ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) (pos []string, code int, done bool) {
	for {
		if code, done := parseFlags(fs, args); done {
			return nil, code, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, false
		}
		// flag stops at "--" (consumed) or at the first non-flag.
		if len(args)-len(rest) > 0 && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), 0, false
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// clientFlags are the dialling flags of connect, proxy and load.
type clientFlags struct {
	headers     listFlag
	origin      string
	subprotocol string
	compress    bool
	ping        time.Duration
	pongTimeout time.Duration
	cacert      string
	insecure    bool
	proxy       string
	maxSize     int64
}

func (f *clientFlags) register(fs *flag.FlagSet, heartbeat bool) {
	fs.Var(&f.headers, "H", "extra request header `Name: value` (repeatable)")
	fs.StringVar(&f.origin, "origin", "", "send this Origin header")
	fs.StringVar(&f.subprotocol, "subprotocol", "", "offer these subprotocols (comma-separated, in order of preference)")
	fs.BoolVar(&f.compress, "compress", false, "offer permessage-deflate (RFC 7692)")
	if heartbeat {
		fs.DurationVar(&f.ping, "ping", 30*time.Second, "heartbeat: send a Ping this often (0: off)")
		fs.DurationVar(&f.pongTimeout, "pong-timeout", 10*time.Second, "heartbeat: fail the connection when nothing arrives this long after a Ping (0: off)")
	}
	fs.StringVar(&f.cacert, "cacert", "", "trust the CA certificates in this PEM `file` for wss://")
	fs.BoolVar(&f.insecure, "insecure", false, "wss://: do not verify the server's certificate")
	fs.StringVar(&f.proxy, "proxy", "", "proxy `URL` (http:// or https:// for HTTP CONNECT, socks5:// or socks5h:// for SOCKS5; 'none' dials directly); default: HTTPS_PROXY/HTTP_PROXY/ALL_PROXY from the environment")
	fs.Int64Var(&f.maxSize, "max-size", 64<<20, "largest message accepted, in bytes")
}

// dialOptions builds the DialOptions the flags describe.
func (f *clientFlags) dialOptions() (*websocket.DialOptions, error) {
	o := &websocket.DialOptions{
		Options: websocket.Options{
			MaxMessageSize: f.maxSize,
			Compression:    f.compress,
			PingInterval:   f.ping,
			PongTimeout:    f.pongTimeout,
		},
		Origin:       f.origin,
		Subprotocols: splitList(f.subprotocol),
	}
	if len(f.headers) > 0 {
		o.Header = make(http.Header)
		for _, h := range f.headers {
			name, value, ok := strings.Cut(h, ":")
			if !ok || strings.TrimSpace(name) == "" {
				return nil, fmt.Errorf("-H %q: want \"Name: value\"", h)
			}
			o.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	if f.cacert != "" || f.insecure {
		tc := &tls.Config{InsecureSkipVerify: f.insecure}
		if f.cacert != "" {
			pem, err := os.ReadFile(f.cacert)
			if err != nil {
				return nil, fmt.Errorf("-cacert: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("-cacert %s: no PEM certificate in it", f.cacert)
			}
			tc.RootCAs = pool
		}
		o.TLSConfig = tc
	}
	switch f.proxy {
	case "":
	case "none", "direct":
		o.Proxy = websocket.NoProxy
	default:
		u, err := url.Parse(f.proxy)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("-proxy %q: want SCHEME://host:port", f.proxy)
		}
		switch u.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return nil, fmt.Errorf("-proxy %q: scheme must be http, https, socks5 or socks5h", f.proxy)
		}
		o.Proxy = http.ProxyURL(u)
	}
	return o, nil
}

// checkURL refuses what cannot be a WebSocket URL before any dialling, so
// the message names the flag-level mistake rather than a dial error.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad URL %q: %v", raw, err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return fmt.Errorf("bad URL %q: the scheme must be ws:// or wss://", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("bad URL %q: no host", raw)
	}
	return nil
}

// dialError describes a failed Dial; a refused handshake shows the
// server's status line and body.
func dialError(err error) string {
	var re *websocket.ResponseError
	if errors.As(err, &re) && re.StatusCode != 0 && re.StatusCode != http.StatusSwitchingProtocols {
		s := fmt.Sprintf("handshake refused: HTTP %s", re.Status)
		if body := strings.TrimSpace(string(re.Body)); body != "" {
			s += "\n" + body
		}
		return s
	}
	return err.Error()
}

// tracer prints one line per frame to w. Lines from several goroutines
// (reader, writers, several connections) are serialised by mu.
type tracer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newTracer(w io.Writer) *tracer { return &tracer{w: w, start: time.Now()} }

// hook returns the Trace function of one connection: sent and received
// frames are labelled with the arrows given (for example "client→proxy").
func (t *tracer) hook(label string, sent, received string) func(websocket.TraceEvent) {
	return func(ev websocket.TraceEvent) {
		dir := received
		if ev.Direction == websocket.Sent {
			dir = sent
		}
		t.print(label, dir, ev)
	}
}

// prefix starts a line: wall time, seconds since start, label.
func (t *tracer) prefix(b []byte, label string) []byte {
	b = fmt.Appendf(b, "%s %8.3fs ", time.Now().Format("15:04:05.000"), time.Since(t.start).Seconds())
	if label != "" {
		b = append(b, label...)
		b = append(b, ' ')
	}
	return b
}

// note prints a line that is not a frame, with the same time columns.
func (t *tracer) note(label, text string) {
	b := append(t.prefix(nil, label), text...)
	b = append(b, '\n')
	t.mu.Lock()
	t.w.Write(b)
	t.mu.Unlock()
}

func (t *tracer) print(label, dir string, ev websocket.TraceEvent) {
	h := ev.Header
	b := t.prefix(make([]byte, 0, 160), label)
	b = fmt.Appendf(b, "%s %-12s fin=%d rsv1=%d mask=%d len=%d", dir, h.Opcode, bit(h.Fin), bit(h.RSV1), bit(h.Masked), h.Length)
	switch {
	case h.Opcode == frame.OpClose && ev.Payload != nil:
		code, reason, err := frame.ParseClose(ev.Payload)
		if err != nil {
			b = fmt.Appendf(b, " invalid close payload: %v", err)
		} else {
			b = fmt.Appendf(b, " code=%s", code)
			if len(reason) > 0 {
				b = fmt.Appendf(b, " reason=%q", reason)
			}
		}
	case ev.Payload != nil && (h.Opcode.IsControl() || !h.RSV1):
		p := ev.Payload
		more := ""
		if len(p) > traceMaxData {
			p, more = p[:traceMaxData], "…"
		}
		if len(p) > 0 {
			b = fmt.Appendf(b, " %q%s", p, more)
		}
	}
	b = append(b, '\n')
	t.mu.Lock()
	t.w.Write(b)
	t.mu.Unlock()
}

func bit(v bool) int {
	if v {
		return 1
	}
	return 0
}

// cleanClose reports whether err ends a connection cleanly: the closing
// handshake completed, started by us with any code or by the peer with
// 1000, 1001 or 1005.
func cleanClose(err error) bool {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Err != nil {
		return false
	}
	if ce.Initiator == websocket.Local {
		return true
	}
	switch ce.Code {
	case frame.CloseNormal, frame.CloseGoingAway, frame.CloseNoStatus:
		return true
	}
	return false
}

// describeClose explains how a connection ended, one fact a line, each
// line starting with prefix.
func describeClose(prefix string, err error) string {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return fmt.Sprintf("%sended: %v\n", prefix, err)
	}
	var b strings.Builder
	who := map[websocket.Initiator]string{
		websocket.Local: "us (local)",
		websocket.Peer:  "the peer",
		websocket.None:  "nobody: the transport failed",
	}[ce.Initiator]
	fmt.Fprintf(&b, "%sclosed by %s\n", prefix, who)
	fmt.Fprintf(&b, "%s  code   %s\n", prefix, ce.Code)
	if ce.Reason != "" {
		fmt.Fprintf(&b, "%s  reason %q\n", prefix, ce.Reason)
	}
	fmt.Fprintf(&b, "%s  frames %s\n", prefix, ce.Frames)
	cause := "none: the closing handshake completed"
	if ce.Err != nil {
		cause = ce.Err.Error()
	}
	fmt.Fprintf(&b, "%s  cause  %s\n", prefix, cause)
	return b.String()
}

// closeSummary is describeClose on one line: who, code, frames, cause.
func closeSummary(err error) string {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return "error=" + strconv.Quote(err.Error())
	}
	s := fmt.Sprintf("closed_by=%s code=%d", ce.Initiator, ce.Code)
	if ce.Reason != "" {
		s += " reason=" + strconv.Quote(ce.Reason)
	}
	s += " frames=" + strconv.Quote(ce.Frames.String())
	if ce.Err != nil {
		s += " cause=" + strconv.Quote(ce.Err.Error())
	}
	return s
}

// serveUntilInterrupt serves h on ln until Ctrl-C (os.Interrupt). Request
// heads are bounded: a slow or silent client cannot hold a connection or
// send an unbounded head. Connections already upgraded stay open.
func serveUntilInterrupt(ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newFlagSet is a subcommand's flag set: errors and -h go to stderr, -h
// prints usage then the flags.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}
