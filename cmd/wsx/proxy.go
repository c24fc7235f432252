package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
)

const proxyUsage = `usage: wsx proxy [flags] -listen ADDR URL

A relay between WebSocket clients and the server at URL. Each client that
connects to ADDR is dialled through to URL with the request's path and query
(appended to URL's path), its subprotocols, its Origin and its other headers
(cookies, authorization…); the client is accepted with the subprotocol the
server chose. Messages are relayed both ways; each leg answers its own pings.
When one side closes, the proxy closes the other leg with the same code and
reason (1001 when the side failed without a Close frame). A server's refusal
is passed to the client with its status and body (502 when the server cannot
be reached).

Each pair gets a log line when it opens and, when both legs ended, one line
per leg with its *CloseError: who closed (local means the proxy), code,
reason, the Close frames in order, the cause. -trace prints every frame on
both legs: "client→proxy" and "proxy→client" on the client's leg,
"proxy→server" and "server→proxy" on the server's, so you can see which side
sent what, and who closed first. Ctrl-C closes every pair with 1001.

Examples:
  wsx proxy -listen 127.0.0.1:9002 ws://127.0.0.1:9001/
  wsx proxy -trace -listen 127.0.0.1:9002 -insecure wss://example.com/api

Flags:
`

// pair is a relayed connection: the client's leg and the server's.
type pair struct {
	id             int64
	client, server *websocket.Conn
}

// relay accepts clients and dials each through to the upstream server.
type relay struct {
	upstream *url.URL
	dial     websocket.DialOptions
	compress bool
	trace    *tracer
	log      io.Writer
	next     atomic.Int64

	mu    sync.Mutex
	pairs map[*pair]bool
	wg    sync.WaitGroup
}

func (rl *relay) logf(format string, args ...any) {
	fmt.Fprintf(rl.log, time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
}

// target is the upstream URL for a request: its path appended to the
// upstream's path, its query (or the upstream's).
func (rl *relay) target(r *http.Request) string {
	u := *rl.upstream
	if p := r.URL.Path; p != "" && p != "/" {
		u.Path = strings.TrimSuffix(u.Path, "/") + p
		u.RawPath = ""
	} else if u.Path == "" {
		u.Path = "/"
	}
	if r.URL.RawQuery != "" {
		u.RawQuery = r.URL.RawQuery
	}
	return u.String()
}

// forwarded is what the proxy does not pass on: hop-by-hop fields and the
// ones the WebSocket handshake makes itself.
func forwarded(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Host", "Connection", "Upgrade", "Origin", "Content-Length", "Transfer-Encoding",
		"Keep-Alive", "Te", "Trailer", "Proxy-Authorization", "Proxy-Connection":
		return false
	}
	return !strings.HasPrefix(http.CanonicalHeaderKey(name), "Sec-Websocket-")
}

func (rl *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := rl.next.Add(1)
	target := rl.target(r)
	opts := rl.dial
	opts.Origin = r.Header.Get("Origin")
	opts.Header = make(http.Header)
	for name, vs := range r.Header {
		if forwarded(name) {
			opts.Header[name] = vs
		}
	}
	opts.Subprotocols = nil
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		opts.Subprotocols = append(opts.Subprotocols, splitList(v)...)
	}
	if rl.trace != nil {
		opts.Trace = rl.trace.hook(fmt.Sprintf("#%d", id), "proxy→server", "server→proxy")
		opts.TracePayload = true
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	server, res, err := websocket.Dial(ctx, target, &opts)
	cancel()
	if err != nil {
		var re *websocket.ResponseError
		if errors.As(err, &re) && re.StatusCode >= 400 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(re.StatusCode)
			w.Write(re.Body)
		} else {
			http.Error(w, "wsx proxy: "+err.Error(), http.StatusBadGateway)
		}
		rl.logf("refused #%d remote=%s upstream=%s: %s", id, r.RemoteAddr, target, strings.ReplaceAll(dialError(err), "\n", " | "))
		return
	}
	aopts := &websocket.AcceptOptions{
		Options:        websocket.Options{MaxMessageSize: rl.dial.MaxMessageSize, Compression: rl.compress},
		OriginPatterns: []string{"*"}, // the server judges the Origin, which it got
	}
	if res.Subprotocol != "" {
		aopts.Subprotocols = []string{res.Subprotocol}
	}
	if rl.trace != nil {
		aopts.Trace = rl.trace.hook(fmt.Sprintf("#%d", id), "proxy→client", "client→proxy")
		aopts.TracePayload = true
	}
	client, err := websocket.Accept(w, r, aopts)
	if err != nil {
		server.Close(frame.CloseGoingAway, "wsx proxy: client handshake failed")
		rl.logf("refused #%d remote=%s: %v", id, r.RemoteAddr, err)
		return
	}
	p := &pair{id: id, client: client, server: server}
	rl.mu.Lock()
	rl.pairs[p] = true
	rl.mu.Unlock()
	rl.wg.Add(1)
	defer rl.wg.Done()
	start := time.Now()
	rl.logf("open  #%d remote=%s upstream=%s subprotocol=%q", id, r.RemoteAddr, target, res.Subprotocol)

	var clientErr, serverErr error
	var wg sync.WaitGroup
	wg.Go(func() { clientErr = pipe(client, server) })
	wg.Go(func() { serverErr = pipe(server, client) })
	wg.Wait()
	rl.mu.Lock()
	delete(rl.pairs, p)
	rl.mu.Unlock()
	rl.logf("close #%d duration=%s\n  client leg: %s\n  server leg: %s", id, time.Since(start).Round(time.Millisecond), closeSummary(clientErr), closeSummary(serverErr))
}

// pipe relays the messages of src to dst until src ends, then ends dst the
// same way: with the peer's code and reason when src's peer closed, with
// 1001 when src failed. It returns src's *CloseError.
func pipe(src, dst *websocket.Conn) error {
	var buf []byte
	for {
		typ, msg, err := src.ReadMessage(buf[:0])
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				src.CloseNow()
				err = src.Ping(nil) // the *CloseError now
				errors.As(err, &ce)
			}
			if ce == nil || ce.Initiator == websocket.Local {
				return err // we ended src: dst is already ending
			}
			code, reason := ce.Code, ce.Reason
			switch {
			case ce.Initiator == websocket.None || code == frame.CloseAbnormal:
				code, reason = frame.CloseGoingAway, "wsx proxy: the other side went away"
			case code == frame.CloseNoStatus:
				reason = ""
			}
			if dst.Close(code, reason) != nil {
				dst.CloseNow() // already ended, or a code we may not send: no-op or drop
			}
			return err
		}
		if werr := dst.WriteMessage(typ, msg); werr != nil {
			// dst ended; its reader closes src. Keep reading src so that
			// its Close is answered by a reader, not discarded.
			continue
		}
		buf = msg
	}
}

// shutdown closes both legs of every pair with 1001.
func (rl *relay) shutdown() {
	rl.mu.Lock()
	var conns []*websocket.Conn
	for p := range rl.pairs {
		conns = append(conns, p.client, p.server)
	}
	rl.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.Close(frame.CloseGoingAway, "proxy shutting down") })
	}
	wg.Wait()
	rl.wg.Wait()
}

func runProxy(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("proxy", proxyUsage, stderr)
	var cf clientFlags
	cf.register(fs, false)
	listen := fs.String("listen", "127.0.0.1:9002", "address to accept clients on")
	trace := fs.Bool("trace", false, "print every frame of both legs")
	pos, code, done := parseInterleaved(fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "wsx proxy: want one upstream URL (wsx proxy -h)")
		return exitUsage
	}
	if err := checkURL(pos[0]); err != nil {
		fmt.Fprintln(stderr, "wsx proxy:", err)
		return exitUsage
	}
	if cf.subprotocol != "" || len(cf.headers) > 0 || cf.origin != "" {
		fmt.Fprintln(stderr, "wsx proxy: -H, -origin and -subprotocol come from each client's request")
		return exitUsage
	}
	up, _ := url.Parse(pos[0])
	opts, err := cf.dialOptions()
	if err != nil {
		fmt.Fprintln(stderr, "wsx proxy:", err)
		return exitUsage
	}
	rl := &relay{upstream: up, dial: *opts, compress: cf.compress, log: stdout, pairs: make(map[*pair]bool)}
	if *trace {
		rl.trace = newTracer(stdout)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "wsx proxy:", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "wsx: proxy on ws://%s/ to %s\n", ln.Addr(), up)
	if err := serveUntilInterrupt(ln, rl); err != nil {
		fmt.Fprintln(stderr, "wsx proxy:", err)
		return exitFailed
	}
	rl.shutdown()
	return 0
}
