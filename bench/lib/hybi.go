package lib

import (
	"context"
	"net"
	"net/http"
	"time"

	websocket "github.com/hybi/websocket"
)

// Hybi is this module: raw path websocket.Upgrade on the net.Conn, net/http
// path websocket.Accept, ReadMessage into the previous message's memory and
// WriteMessage; permessage-deflate with Options.Compression (its defaults:
// the client offers client_max_window_bits, the server accepts the offer as
// is, so both sides keep their compression context).
func Hybi() Lib {
	return Lib{Name: "hybi", Module: "github.com/hybi/websocket (this tree)", Serve: hybiServe, Dial: hybiDial}
}

type hybiServer struct {
	ln   net.Listener
	http *httpServer
	reg  registry[*websocket.Conn]
	// hub broadcasts (the registry closes the connections at the end):
	// each member's writer goroutine runs only while it has a message to
	// write, so broadcasts are written in parallel on every core, as
	// gws's Broadcaster does with its write queues.
	hub websocket.Hub
}

func hybiOptions(deflate bool) websocket.Options {
	return websocket.Options{MaxMessageSize: MaxMessage, Compression: deflate}
}

func hybiServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	s := &hybiServer{ln: ln}
	// The reader runs on a fresh goroutine: the handshake's goroutine has
	// grown its stack past 2 KiB, and an idle connection keeps its
	// reader's stack (see TestStackAfterUpgrade).
	s.http = hybiAccept(ln, cfg, func(c *websocket.Conn) { go s.echo(c) })
	return s, nil
}

// hybiAccept serves ln with hybi's handshake, the net/http path
// (websocket.Accept; the *httpServer is returned) or the raw path
// (websocket.Upgrade on each accepted net.Conn; nil returned), and hands
// every upgraded Conn to handle on the connection's goroutine.
func hybiAccept(ln net.Listener, cfg ServerConfig, handle func(*websocket.Conn)) *httpServer {
	opts := &websocket.AcceptOptions{Options: hybiOptions(cfg.Deflate)}
	if cfg.HTTP {
		return serveHTTP(ln, func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, opts)
			if err != nil {
				return
			}
			handle(c)
		})
	}
	upgradeEach(ln, opts, handle)
	return nil
}

func (s *hybiServer) echo(c *websocket.Conn) {
	s.reg.add(c)
	defer s.reg.remove(c)
	s.hub.Add(c)
	defer s.hub.Remove(c)
	defer c.CloseNow()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(buf)
		if err != nil {
			return
		}
		buf = msg
		if err := c.WriteMessage(typ, msg); err != nil {
			return
		}
	}
}

func (s *hybiServer) Broadcast(p []byte) error {
	// Encoded once, written to every connection (as gorilla's
	// PreparedMessage and gws's Broadcaster do for their rows).
	pm, err := websocket.NewPreparedMessage(websocket.Binary, p)
	if err != nil {
		return err
	}
	s.hub.Broadcast(pm)
	return nil
}

func (s *hybiServer) Conns() int { return s.reg.len() }

func (s *hybiServer) Close() error {
	if s.http != nil {
		s.http.s.Close()
	}
	s.ln.Close()
	s.hub.Close()
	return s.reg.each(func(c *websocket.Conn) error { return c.CloseNow() })
}

type hybiClient struct {
	c   *websocket.Conn
	buf []byte
}

func hybiDial(addr string, cfg ClientConfig) (Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{Options: hybiOptions(cfg.Deflate), Proxy: websocket.NoProxy})
	if err != nil {
		return nil, err
	}
	return &hybiClient{c: c}, nil
}

func (c *hybiClient) RoundTrip(p []byte) ([]byte, error) {
	if err := c.c.WriteMessage(websocket.Binary, p); err != nil {
		return nil, err
	}
	_, msg, err := c.c.ReadMessage(c.buf)
	if err != nil {
		return nil, err
	}
	c.buf = msg
	return msg, nil
}

func (c *hybiClient) Close() error { return c.c.CloseNow() }
