package main

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/handshake"
)

// echoOptions are the settings the echo server and the Autobahn client use:
// messages up to 64 MiB (group 9 sends 16 MiB), compression when asked.
func echoOptions(compress bool) websocket.Options {
	return websocket.Options{MaxMessageSize: 64 << 20, Compression: compress}
}

// echo reads messages and writes each back with its type until the
// connection ends; the library answers pings and closes.
func echo(c *websocket.Conn) {
	defer c.CloseNow()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(buf[:0])
		if err != nil {
			return
		}
		if err := c.WriteMessage(typ, msg); err != nil {
			return
		}
		buf = msg
	}
}

// loopEcho is echo for a connection served by a websocket.Loop: it writes
// each message back with its type, on the poller goroutine, and ends the
// connection when the write fails, as echo does.
func loopEcho(c *websocket.Conn, typ websocket.MessageType, p []byte) {
	if err := c.WriteMessage(typ, p); err != nil {
		c.CloseNow()
	}
}

// echoHandler is the Autobahn echo server as an http.Handler. With loop,
// every upgraded connection is handed to one websocket.Loop, which reads
// it and echoes in OnMessage, instead of a goroutine blocked in
// ReadMessage; the accept options are the same. stop closes the Loop and
// the connections it serves (a no-op without loop).
func echoHandler(compress, loop bool) (h http.Handler, stop func(), err error) {
	hb, err := newHub(serveConfig{compress: compress, loop: loop, mode: "echo", log: io.Discard})
	if err != nil {
		return nil, nil, err
	}
	return hb, hb.stopLoop, nil
}

// serveConfig is what the flags of wsx serve choose.
type serveConfig struct {
	compress              bool
	loop                  bool
	mode                  string // echo or broadcast
	origins, subprotocols []string
	ping, pongTimeout     time.Duration
	maxSize               int64
	deflate               deflate.Server
	level                 int
	trace                 *tracer
	log                   io.Writer // one line per connection open, close and refusal
}

// connInfo is what the log line at a connection's end needs.
type connInfo struct {
	id     int64
	remote string
	start  time.Time
}

// hub serves WebSocket connections in one mode and knows every open one,
// for broadcast and for closing them all at shutdown.
type hub struct {
	cfg  serveConfig
	opts websocket.AcceptOptions
	hs   handshake.ServerOptions // the same policy, to learn the negotiated extensions
	loop *websocket.Loop
	next atomic.Int64

	mu    sync.Mutex
	conns map[*websocket.Conn]*connInfo
	wg    sync.WaitGroup
}

func newHub(cfg serveConfig) (*hub, error) {
	h := &hub{cfg: cfg, conns: make(map[*websocket.Conn]*connInfo)}
	h.opts = websocket.AcceptOptions{
		Options: websocket.Options{
			MaxMessageSize:   cmp.Or(cfg.maxSize, 64<<20),
			Compression:      cfg.compress,
			CompressionLevel: cfg.level,
			PingInterval:     cfg.ping,
			PongTimeout:      cfg.pongTimeout,
		},
		Subprotocols:   cfg.subprotocols,
		OriginPatterns: cfg.origins,
	}
	h.hs = handshake.ServerOptions{Subprotocols: cfg.subprotocols, OriginPatterns: cfg.origins}
	if cfg.compress {
		d := cfg.deflate
		h.opts.CompressionServer = &d
		h.hs.Extensions = []handshake.ServerExtension{&d}
	}
	if cfg.trace != nil {
		h.opts.TracePayload = true
	}
	if cfg.loop {
		if cfg.mode != "echo" {
			return nil, errors.New("-loop serves -mode echo only")
		}
		l, err := websocket.NewLoop(&websocket.LoopOptions{
			OnMessage: loopEcho,
			OnClose:   func(c *websocket.Conn, err error) { h.closed(c, err) },
		})
		if err != nil {
			return nil, err
		}
		h.loop = l
	}
	return h, nil
}

func (h *hub) stopLoop() {
	if h.loop != nil {
		h.loop.Close()
	}
}

func (h *hub) logf(format string, args ...any) {
	fmt.Fprintf(h.cfg.log, time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := h.next.Add(1)
	opts := h.opts
	if h.cfg.trace != nil {
		opts.Trace = h.cfg.trace.hook(fmt.Sprintf("#%d", id), "server→client", "client→server")
	}
	res, _, herr := handshake.CheckRequest(r, &h.hs)
	c, err := websocket.Accept(w, r, &opts)
	if err != nil {
		h.logf("refused #%d remote=%s path=%q: %v", id, r.RemoteAddr, r.URL.Path, err)
		return
	}
	var exts []string
	if herr == nil {
		for _, e := range res.Extensions {
			exts = append(exts, e.String())
		}
	}
	info := &connInfo{id: id, remote: r.RemoteAddr, start: time.Now()}
	h.mu.Lock()
	h.conns[c] = info
	h.mu.Unlock()
	h.logf("open  #%d remote=%s path=%q subprotocol=%q extensions=%q", id, info.remote, r.URL.Path, c.Subprotocol(), strings.Join(exts, ", "))
	if h.loop != nil {
		if err := h.loop.Add(c); err != nil {
			c.CloseNow()
			h.closed(c, err)
		}
		return
	}
	h.wg.Add(1)
	defer h.wg.Done()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(buf[:0])
		if err == nil {
			if h.cfg.mode == "broadcast" {
				h.broadcast(typ, msg)
			} else {
				err = c.WriteMessage(typ, msg)
			}
		}
		if err != nil {
			c.CloseNow()
			h.closed(c, err)
			return
		}
		buf = msg
	}
}

// closed logs the end of a connection once. The line is written before
// the connection leaves the set, so that shutdown, which waits for the
// set to empty, never exits before it (a Loop calls OnClose on its own
// goroutine, possibly after Close returned).
func (h *hub) closed(c *websocket.Conn, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	info := h.conns[c]
	if info == nil {
		return
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		err = ce // the connection's own error, not the write or read that saw it
	}
	h.logf("close #%d remote=%s duration=%s %s", info.id, info.remote, time.Since(info.start).Round(time.Millisecond), closeSummary(err))
	delete(h.conns, c)
}

// broadcast sends a message to every open connection; a connection that
// does not take it within 5 s is dropped.
func (h *hub) broadcast(typ websocket.MessageType, p []byte) {
	h.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := c.WriteMessage(typ, p); err != nil {
			c.CloseNow()
		}
		c.SetWriteDeadline(time.Time{})
	}
}

// shutdown closes every open connection with 1001 (each within the close
// timeout) and waits for their goroutines.
func (h *hub) shutdown() {
	h.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.Close(frame.CloseGoingAway, "server shutting down") })
	}
	wg.Wait()
	// A Loop reports a connection's end from its own goroutine, maybe
	// after Close returned: wait for the log lines (bounded).
	h.waitConns(time.Second)
	h.stopLoop()
	h.waitConns(time.Second)
	h.wg.Wait()
	h.mu.Lock()
	for _, info := range h.conns {
		h.logf("close #%d remote=%s duration=%s end not reported within 2 s of the shutdown", info.id, info.remote, time.Since(info.start).Round(time.Millisecond))
	}
	h.mu.Unlock()
}

// waitConns waits until every connection has been logged closed, at most d.
func (h *hub) waitConns(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		h.mu.Lock()
		n := len(h.conns)
		h.mu.Unlock()
		if n == 0 {
			return
		}
	}
}

const serveUsage = `usage: wsx serve [flags]

A WebSocket test server. Modes: echo (every text and binary message goes
back to its sender, as the Autobahn testsuite's fuzzing client expects) and
broadcast (every message goes to every open connection: a chat to try by
hand with several wsx connect). By default a goroutine per connection reads;
with -loop a websocket.Loop reads every connection (echo only).

Each connection gets one log line when it opens (remote address, path,
subprotocol, extensions) and one when it ends (duration, who closed, code,
reason, the Close frames and the cause); a refused handshake gets one too.
-trace also prints every frame in both directions (see wsx connect -h).
Ctrl-C closes every connection with 1001 and exits.

TLS: -cert and -key load a certificate; -tls generates a self-signed one for
localhost, 127.0.0.1 and ::1 and prints its SHA-256 fingerprint (-tls-out
writes it in PEM, for wsx connect -cacert).

Examples:
  wsx serve -addr 127.0.0.1:9001
  wsx serve -mode broadcast -trace
  wsx serve -tls -tls-out /tmp/wsx.pem -addr 127.0.0.1:9443
  wsx serve -origin 'app.example.com,*.example.org' -subprotocol chat.v2,chat.v1
  wsx serve -compress -server-no-context-takeover -server-max-window-bits 10

Flags:
`

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", serveUsage, stderr)
	var cfg serveConfig
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on")
	fs.StringVar(&cfg.mode, "mode", "echo", "echo or broadcast")
	fs.BoolVar(&cfg.compress, "compress", false, "accept permessage-deflate (RFC 7692)")
	fs.BoolVar(&cfg.deflate.ServerNoContextTakeover, "server-no-context-takeover", false, "-compress: compress every message on its own")
	fs.BoolVar(&cfg.deflate.ClientNoContextTakeover, "client-no-context-takeover", false, "-compress: ask clients to compress every message on its own")
	fs.IntVar(&cfg.deflate.ServerMaxWindowBits, "server-max-window-bits", 0, "-compress: limit the server's window, 8-14 (0: none)")
	fs.IntVar(&cfg.level, "compress-level", 1, "-compress: compression level, 1 (fastest) to 9 (see deflate.Compressor)")
	fs.BoolVar(&cfg.loop, "loop", false, "read the connections with a websocket.Loop (epoll on Linux) and echo in its OnMessage")
	origins := fs.String("origin", "", "accept browser requests from these Origin host patterns (comma-separated, path.Match syntax, e.g. '*.example.com'); default: same host only")
	protos := fs.String("subprotocol", "", "subprotocols supported, in order of preference (comma-separated)")
	fs.DurationVar(&cfg.ping, "ping", 0, "heartbeat: send a Ping this often (0: off)")
	fs.DurationVar(&cfg.pongTimeout, "pong-timeout", 0, "heartbeat: drop a connection when nothing arrives this long after a Ping")
	fs.Int64Var(&cfg.maxSize, "max-size", 64<<20, "largest message accepted, in bytes")
	trace := fs.Bool("trace", false, "print every frame of every connection")
	quiet := fs.Bool("quiet", false, "no log line per connection")
	certFile := fs.String("cert", "", "TLS certificate `file` (PEM); with -key")
	keyFile := fs.String("key", "", "TLS private key `file` (PEM)")
	selfSigned := fs.Bool("tls", false, "serve TLS with a generated self-signed certificate")
	tlsOut := fs.String("tls-out", "", "with -tls: write the generated certificate to this PEM `file`")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	usageErr := func(msg string) int {
		fmt.Fprintln(stderr, "wsx serve:", msg)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument " + fs.Arg(0))
	case cfg.mode != "echo" && cfg.mode != "broadcast":
		return usageErr(fmt.Sprintf("-mode %q: want echo or broadcast", cfg.mode))
	case (*certFile == "") != (*keyFile == ""):
		return usageErr("-cert and -key go together")
	case *selfSigned && *certFile != "":
		return usageErr("-tls generates a certificate: not with -cert")
	case *tlsOut != "" && !*selfSigned:
		return usageErr("-tls-out needs -tls")
	case cfg.deflate.ServerMaxWindowBits != 0 && (cfg.deflate.ServerMaxWindowBits < 8 || cfg.deflate.ServerMaxWindowBits > 14):
		return usageErr("-server-max-window-bits: want 8-14")
	}
	cfg.origins, cfg.subprotocols = splitList(*origins), splitList(*protos)
	cfg.log = stdout
	if *quiet {
		cfg.log = io.Discard
	}
	if *trace {
		cfg.trace = newTracer(stdout)
	}
	h, err := newHub(cfg)
	if err != nil {
		return usageErr(err.Error())
	}
	defer h.stopLoop()

	var tc *tls.Config
	switch {
	case *certFile != "":
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fmt.Fprintln(stderr, "wsx serve:", err)
			return exitFailed
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}}
	case *selfSigned:
		cert, pemBytes, err := selfSignedCert()
		if err != nil {
			fmt.Fprintln(stderr, "wsx serve:", err)
			return exitFailed
		}
		if *tlsOut != "" {
			if err := os.WriteFile(*tlsOut, pemBytes, 0o644); err != nil {
				fmt.Fprintln(stderr, "wsx serve:", err)
				return exitFailed
			}
		}
		sum := sha256.Sum256(cert.Certificate[0])
		fp := make([]string, len(sum))
		for i, b := range sum {
			fp[i] = fmt.Sprintf("%02X", b)
		}
		fmt.Fprintf(stdout, "wsx: self-signed certificate for localhost, 127.0.0.1, ::1; SHA-256 fingerprint %s\n", strings.Join(fp, ":"))
		tc = &tls.Config{Certificates: []tls.Certificate{cert}}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "wsx serve:", err)
		return exitFailed
	}
	scheme := "ws"
	if tc != nil {
		scheme = "wss"
		tc.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(ln, tc)
	}
	fmt.Fprintf(stdout, "wsx: %s server on %s://%s/ (compression %v, loop %v)\n", cfg.mode, scheme, ln.Addr(), cfg.compress, cfg.loop)
	if err := serveUntilInterrupt(ln, h); err != nil {
		fmt.Fprintln(stderr, "wsx serve:", err)
		return exitFailed
	}
	h.shutdown()
	return 0
}

// selfSignedCert makes an ECDSA P-256 certificate for localhost,
// 127.0.0.1 and ::1, valid for a day, and returns it with its PEM.
func selfSignedCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "wsx serve"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
