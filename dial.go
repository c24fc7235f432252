package websocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/handshake"
)

// negotiated returns the permessage-deflate parameters the handshake agreed
// on, or nil when the extension was not accepted.
func negotiated(res handshake.Result, parse func(handshake.Extension) (deflate.Params, error)) (*deflate.Params, error) {
	for _, ext := range res.Extensions {
		if ext.Name == deflate.ExtensionName {
			p, err := parse(ext)
			if err != nil {
				return nil, err
			}
			return &p, nil
		}
	}
	return nil, nil
}

// Dial opens a WebSocket connection to a ws:// or wss:// URL (RFC 6455
// §4.1): TCP, an HTTP CONNECT or SOCKS5 proxy when DialOptions.Proxy (by
// default the environment: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY)
// names one, TLS for wss,
// then the opening handshake. Everything, including the handshake, is
// bounded by ctx; the returned Conn is not tied to ctx.
//
// It returns what the handshake agreed on and the server's 101 response
// (DialResult: subprotocol, extensions, status and header, Set-Cookie
// included). A refused handshake is a *ResponseError carrying the server's
// status, header and the start of its body; a proxy's refusal of the
// CONNECT request is a *ProxyError carrying the same of the proxy's answer.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, DialResult, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, DialResult{}, fmt.Errorf("websocket: dial: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, DialResult{}, fmt.Errorf("websocket: dial: URL scheme must be ws or wss, not %q", u.Scheme)
	}
	if u.Fragment != "" {
		// RFC 6455 §3: "Fragment identifiers are meaningless in the
		// context of WebSocket URIs and MUST NOT be used on these URIs."
		return nil, DialResult{}, errors.New("websocket: dial: URL must not have a fragment")
	}
	if err := ctx.Err(); err != nil {
		return nil, DialResult{}, err
	}

	nc, err := dialTransport(ctx, u, opts)
	if err != nil {
		return nil, DialResult{}, err
	}
	stop := bindContext(ctx, nc)
	// The handshake reads through a small bufio.Reader; whatever the server
	// sent after its 101 response is handed to the Conn, not lost.
	br := bufio.NewReaderSize(nc, 1024)
	co := &handshake.ClientOptions{
		Origin:       opts.Origin,
		Subprotocols: opts.Subprotocols,
		Header:       withJarCookies(opts.Header, opts.Jar, u),
	}
	var dc *deflate.Client
	if opts.Compression {
		dc = deflate.NewClient(opts.CompressionOffers...)
		co.Extensions = []handshake.ClientExtension{dc}
	}
	res, err := handshake.Dial(nc, br, u, co)
	storeCookies(opts.Jar, u, res, err)
	var params *deflate.Params
	if err == nil && dc != nil {
		params, err = negotiated(res, dc.Params)
	}
	if cerr := stop(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		nc.Close()
		return nil, DialResult{}, ctxErr(ctx, fmt.Errorf("websocket: dial: %w", err))
	}
	buffered, _ := br.Peek(br.Buffered())
	c, err := newConn(nc, true, buffered, &opts.Options, res.Subprotocol, params)
	if err != nil {
		nc.Close()
		return nil, DialResult{}, err
	}
	return c, res, nil
}

// cookieURL is the http or https URL a cookie jar knows a ws or wss URL by,
// as browsers do (RFC 6455 §4.1 item 12 lets a client send cookies).
func cookieURL(u *url.URL) *url.URL {
	cu := *u
	if u.Scheme == "wss" {
		cu.Scheme = "https"
	} else {
		cu.Scheme = "http"
	}
	return &cu
}

// withJarCookies returns h with jar's cookies for u appended to its Cookie
// field, in one line after any the caller set (RFC 6265 §5.4: "the user
// agent MUST NOT attach more than one Cookie header field"). h itself is
// never modified.
func withJarCookies(h http.Header, jar http.CookieJar, u *url.URL) http.Header {
	if jar == nil {
		return h
	}
	cookies := jar.Cookies(cookieURL(u))
	if len(cookies) == 0 {
		return h
	}
	pairs := h.Values("Cookie")
	for _, c := range cookies {
		// Only the name and value go in a request (RFC 6265 §5.4).
		pairs = append(pairs, (&http.Cookie{Name: c.Name, Value: c.Value, Quoted: c.Quoted}).String())
	}
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Cookie", strings.Join(pairs, "; "))
	return h
}

// storeCookies hands jar the Set-Cookie fields of the server's answer: the
// 101 of a successful handshake or the response of a refused one.
func storeCookies(jar http.CookieJar, u *url.URL, res handshake.Result, err error) {
	if jar == nil {
		return
	}
	h := res.Header
	var re *handshake.ResponseError
	if err != nil {
		if !errors.As(err, &re) {
			return
		}
		h = re.Header
	}
	if cookies := (&http.Response{Header: h}).Cookies(); len(cookies) > 0 {
		jar.SetCookies(cookieURL(u), cookies)
	}
}
