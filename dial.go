package websocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"

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
// §4.1): TCP, an HTTP CONNECT proxy when DialOptions.Proxy (by default the
// environment: HTTPS_PROXY, HTTP_PROXY, NO_PROXY) names one, TLS for wss,
// then the opening handshake. Everything, including the handshake, is
// bounded by ctx; the returned Conn is not tied to ctx.
//
// It returns what the handshake agreed on and the server's 101 response
// (DialResult: subprotocol, extensions, status and header, Set-Cookie
// included). A refused handshake is a *ResponseError carrying the server's
// status, header and the start of its body.
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
		Header:       opts.Header,
	}
	var dc *deflate.Client
	if opts.Compression {
		dc = deflate.NewClient(opts.CompressionOffers...)
		co.Extensions = []handshake.ClientExtension{dc}
	}
	res, err := handshake.Dial(nc, br, u, co)
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
