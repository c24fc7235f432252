package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hybi/websocket/handshake"
)

// longAgo is a deadline in the past: setting it makes every blocked I/O call
// on a net.Conn return at once.
var longAgo = time.Unix(1, 0)

// bindContext makes I/O on nc honour ctx until the returned stop function is
// called: ctx's deadline becomes nc's deadline, and cancelling ctx sets a
// deadline in the past. stop clears the deadline again and reports ctx's
// error if ctx ended meanwhile, so a caller can return ctx.Err() instead of
// a confusing I/O timeout.
func bindContext(ctx context.Context, nc net.Conn) (stop func() error) {
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	stopAfter := context.AfterFunc(ctx, func() { nc.SetDeadline(longAgo) })
	return func() error {
		stopped := stopAfter()
		if !stopped || ctx.Err() != nil {
			// The AfterFunc ran (or ctx ended): the conn's deadline is in
			// the past; report the context error.
			return ctx.Err()
		}
		nc.SetDeadline(time.Time{})
		return nil
	}
}

// ctxErr prefers ctx's error over err when ctx has ended, since I/O errors
// caused by a cancelled context are only a symptom. An I/O timeout at ctx's
// deadline counts as the deadline even if ctx's own timer has not fired yet.
func ctxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	cerr := ctx.Err()
	if cerr == nil && isTimeout(err) {
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr != nil {
		return fmt.Errorf("websocket: dial: %w (%v)", cerr, err)
	}
	return err
}

// hostPort returns u's host with the default port for scheme added.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		if u.Scheme == "wss" || u.Scheme == "https" {
			port = "443"
		} else {
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// dialTransport opens the byte stream for a ws/wss URL: TCP, an optional
// HTTP CONNECT or SOCKS5 proxy, and TLS for wss. Every step is bounded by ctx.
func dialTransport(ctx context.Context, u *url.URL, o *DialOptions) (net.Conn, error) {
	netDial := o.NetDial
	if netDial == nil {
		var d net.Dialer
		netDial = d.DialContext
	}
	proxyFn := o.Proxy
	if proxyFn == nil {
		proxyFn = http.ProxyFromEnvironment
	}
	target := hostPort(u)

	// The proxy functions of net/http only know http and https.
	hu := *u
	if u.Scheme == "wss" {
		hu.Scheme = "https"
	} else {
		hu.Scheme = "http"
	}
	proxyURL, err := proxyFn(&http.Request{Method: http.MethodGet, URL: &hu, Host: u.Host, Header: http.Header{}})
	if err == nil && proxyURL == nil && o.Proxy == nil {
		// net/http's environment knows HTTP_PROXY and HTTPS_PROXY only.
		proxyURL, err = allProxy(os.Getenv, target)
	}
	if err != nil {
		return nil, fmt.Errorf("websocket: dial: proxy: %w", err)
	}

	var nc net.Conn
	if proxyURL == nil {
		nc, err = netDial(ctx, "tcp", target)
		if err != nil {
			return nil, ctxErr(ctx, fmt.Errorf("websocket: dial: %w", err))
		}
	} else {
		nc, err = dialProxy(ctx, netDial, proxyURL, target, o.TLSConfig)
		if err != nil {
			return nil, err
		}
	}

	if u.Scheme == "wss" {
		cfg := o.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		// WebSocket over TLS uses HTTP/1.1 (RFC 6455 §4.1); never let ALPN
		// pick h2 for this connection.
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, ctxErr(ctx, fmt.Errorf("websocket: dial: tls: %w", err))
		}
		nc = tc
	}
	return nc, nil
}

// maxProxyResponse bounds the proxy's CONNECT response head.
const maxProxyResponse = 16 << 10

// dialProxy connects to target through an HTTP proxy with CONNECT, or a
// SOCKS5 proxy (socks.go).
func dialProxy(ctx context.Context, netDial func(context.Context, string, string) (net.Conn, error), proxy *url.URL, target string, tlsCfg *tls.Config) (net.Conn, error) {
	var proxyAddr string
	switch proxy.Scheme {
	case "http", "":
		proxyAddr = hostPort(&url.URL{Scheme: "http", Host: proxy.Host})
	case "https":
		proxyAddr = hostPort(&url.URL{Scheme: "https", Host: proxy.Host})
	case "socks5", "socks5h":
		proxyAddr = proxy.Host
		if proxy.Port() == "" {
			proxyAddr = net.JoinHostPort(proxy.Hostname(), "1080") // RFC 1928 §3
		}
	default:
		return nil, fmt.Errorf("websocket: dial: unsupported proxy scheme %q", proxy.Scheme)
	}
	nc, err := netDial(ctx, "tcp", proxyAddr)
	if err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("websocket: dial: proxy %s: %w", proxyAddr, err))
	}
	if proxy.Scheme == "https" {
		cfg := &tls.Config{ServerName: proxy.Hostname()}
		if tlsCfg != nil {
			cfg.RootCAs = tlsCfg.RootCAs
			cfg.InsecureSkipVerify = tlsCfg.InsecureSkipVerify
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, ctxErr(ctx, fmt.Errorf("websocket: dial: proxy tls: %w", err))
		}
		nc = tc
	}

	stop := bindContext(ctx, nc)
	if proxy.Scheme == "socks5" || proxy.Scheme == "socks5h" {
		err = socksConnectTo(ctx, nc, proxy, proxyAddr, target, proxy.Scheme == "socks5")
	} else {
		err = proxyConnect(ctx, nc, proxy, target)
	}
	if cerr := stop(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		nc.Close()
		var pe *ProxyError
		if errors.As(err, &pe) {
			pe.Proxy = proxyAddr
			return nil, err // the proxy answered: its answer is the error
		}
		return nil, ctxErr(ctx, err)
	}
	return nc, nil
}

// ProxyError is the error of a Dial whose HTTP proxy refused the CONNECT
// request (RFC 9110 §9.3.6: any status other than 2xx), for example 407
// Proxy Authentication Required (with a Proxy-Authenticate field saying
// which credentials it wants), 403 Forbidden or 502 Bad Gateway. Match it
// with errors.As.
type ProxyError struct {
	Proxy      string      // the proxy's host:port
	StatusCode int         // e.g. 407
	Status     string      // status code and reason phrase, e.g. "407 Proxy Authentication Required"
	Header     http.Header // the response header fields
	// Body holds the first bytes (at most 1 KiB) of the response body: as
	// many as arrive before ctx ends and within a second of the head.
	Body []byte
}

// Error reads like "websocket: dial: proxy 10.0.0.1:3128 refused CONNECT:
// 403 Forbidden: host not allowed" (with the first line of the body).
func (e *ProxyError) Error() string {
	// A refused handshake's text, with the proxy named.
	s := (&handshake.ResponseError{StatusCode: e.StatusCode, Status: e.Status, Body: e.Body, Err: handshake.ErrNotSwitching}).Error()
	return "websocket: dial: proxy " + e.Proxy + " refused CONNECT: " + strings.TrimPrefix(s, "handshake: server answered ")
}

// maxProxyBody bounds ProxyError.Body, and proxyBodyWait the time spent
// reading it once the head has arrived: the body only explains a refusal,
// so a proxy that keeps the connection open without announcing a length
// must not hold Dial.
const (
	maxProxyBody  = 1 << 10
	proxyBodyWait = time.Second
)

// proxyConnect sends CONNECT target and reads the proxy's answer byte by
// byte up to the end of the head, so no byte of the tunnel is consumed. A
// refusal is a *ProxyError.
func proxyConnect(ctx context.Context, nc net.Conn, proxy *url.URL, target string) error {
	var b strings.Builder
	b.WriteString("CONNECT ")
	b.WriteString(target)
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(target)
	b.WriteString("\r\n")
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		b.WriteString("Proxy-Authorization: Basic ")
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pass)))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	if _, err := nc.Write([]byte(b.String())); err != nil {
		return fmt.Errorf("websocket: dial: proxy: %w", err)
	}

	// Read the head one byte at a time so that no byte of the tunnel
	// behind it is consumed. The head is small and read once per dial.
	head := make([]byte, 0, 256)
	var one [1]byte
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if len(head) >= maxProxyResponse {
			return errors.New("websocket: dial: proxy: response head too long")
		}
		if _, err := nc.Read(one[:]); err != nil {
			return fmt.Errorf("websocket: dial: proxy: %w", err)
		}
		head = append(head, one[0])
	}
	req := &http.Request{Method: http.MethodConnect}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), req)
	if err != nil {
		return fmt.Errorf("websocket: dial: proxy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	// The tunnel is refused, so reading past the head is harmless now:
	// read the body as net/http delimits it (Content-Length, chunked or
	// the connection's end), bounded in size and time.
	if ctx.Err() == nil {
		d := time.Now().Add(proxyBodyWait)
		if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
			d = cd
		}
		nc.SetReadDeadline(d)
	}
	pe := &ProxyError{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header}
	if resp, err = http.ReadResponse(bufio.NewReader(io.MultiReader(bytes.NewReader(head), nc)), req); err == nil {
		// Not resp.Body.Close: it would drain the rest. The caller
		// closes nc.
		pe.Body, _ = io.ReadAll(io.LimitReader(resp.Body, maxProxyBody))
	}
	return pe
}
