package lib

import (
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

// Gorilla is github.com/gorilla/websocket: net/http path only (it has no raw
// path), NextReader read into a reusable buffer, WriteMessage, and
// PreparedMessage for broadcasts (its documented way to send one message to
// many connections).
func Gorilla() Lib {
	return Lib{Name: "gorilla", Module: "github.com/gorilla/websocket v1.5.3", Serve: gorillaServe, Dial: gorillaDial}
}

type gorillaServer struct {
	http *httpServer
	reg  registry[*websocket.Conn]
}

func gorillaServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	if !cfg.HTTP {
		return nil, ErrUnsupported
	}
	s := &gorillaServer{}
	u := &websocket.Upgrader{
		ReadBufferSize:    4096,
		WriteBufferSize:   4096,
		CheckOrigin:       func(*http.Request) bool { return true },
		EnableCompression: cfg.Deflate,
	}
	s.http = serveHTTP(ln, func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.SetReadLimit(MaxMessage)
		s.reg.add(c)
		defer s.reg.remove(c)
		defer c.Close()
		var buf []byte
		for {
			typ, rd, err := c.NextReader()
			if err != nil {
				return
			}
			if buf, err = readAll(rd, buf); err != nil {
				return
			}
			if err := c.WriteMessage(typ, buf); err != nil {
				return
			}
		}
	})
	return s, nil
}

func (s *gorillaServer) Broadcast(p []byte) error {
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, p)
	if err != nil {
		return err
	}
	return s.reg.each(func(c *websocket.Conn) error { return c.WritePreparedMessage(pm) })
}

func (s *gorillaServer) Conns() int { return s.reg.len() }

func (s *gorillaServer) Close() error {
	s.http.s.Close()
	return s.reg.each(func(c *websocket.Conn) error { return c.Close() })
}

type gorillaClient struct {
	c   *websocket.Conn
	buf []byte
}

func gorillaDial(addr string, cfg ClientConfig) (Client, error) {
	d := &websocket.Dialer{ReadBufferSize: 4096, WriteBufferSize: 4096, EnableCompression: cfg.Deflate}
	c, _, err := d.Dial("ws://"+addr+"/", nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(MaxMessage)
	return &gorillaClient{c: c}, nil
}

func (c *gorillaClient) RoundTrip(p []byte) ([]byte, error) {
	if err := c.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return nil, err
	}
	_, rd, err := c.c.NextReader()
	if err != nil {
		return nil, err
	}
	c.buf, err = readAll(rd, c.buf)
	return c.buf, err
}

func (c *gorillaClient) Close() error { return c.c.Close() }
