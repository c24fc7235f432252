package lib

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// Coder is github.com/coder/websocket: net/http path only, Reader read into
// a reusable buffer, Write; permessage-deflate with context takeover.
func Coder() Lib {
	return Lib{Name: "coder", Module: "github.com/coder/websocket v1.8.14", Serve: coderServe, Dial: coderDial}
}

type coderServer struct {
	http *httpServer
	reg  registry[*websocket.Conn]
}

func coderMode(deflate bool) websocket.CompressionMode {
	if deflate {
		return websocket.CompressionContextTakeover
	}
	return websocket.CompressionDisabled
}

func coderServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	if !cfg.HTTP {
		return nil, ErrUnsupported
	}
	s := &coderServer{}
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: coderMode(cfg.Deflate)}
	s.http = serveHTTP(ln, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		c.SetReadLimit(MaxMessage)
		s.reg.add(c)
		defer s.reg.remove(c)
		defer c.CloseNow()
		ctx := context.Background()
		var buf []byte
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			if buf, err = readAll(rd, buf); err != nil {
				return
			}
			if err := c.Write(ctx, typ, buf); err != nil {
				return
			}
		}
	})
	return s, nil
}

func (s *coderServer) Broadcast(p []byte) error {
	ctx := context.Background()
	return s.reg.each(func(c *websocket.Conn) error { return c.Write(ctx, websocket.MessageBinary, p) })
}

func (s *coderServer) Conns() int { return s.reg.len() }

func (s *coderServer) Close() error {
	s.http.s.Close()
	return s.reg.each(func(c *websocket.Conn) error { return c.CloseNow() })
}

type coderClient struct {
	c   *websocket.Conn
	buf []byte
}

func coderDial(addr string, cfg ClientConfig) (Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{CompressionMode: coderMode(cfg.Deflate)})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(MaxMessage)
	return &coderClient{c: c}, nil
}

func (c *coderClient) RoundTrip(p []byte) ([]byte, error) {
	ctx := context.Background()
	if err := c.c.Write(ctx, websocket.MessageBinary, p); err != nil {
		return nil, err
	}
	_, rd, err := c.c.Reader(ctx)
	if err != nil {
		return nil, err
	}
	c.buf, err = readAll(rd, c.buf)
	return c.buf, err
}

func (c *coderClient) Close() error { return c.c.CloseNow() }
