package lib

import (
	"net"

	websocket "github.com/hybi/websocket"
)

// HybiLoop is this module's server with a websocket.Loop: raw path
// websocket.Upgrade on the net.Conn, net/http path websocket.Accept, then
// Loop.Add, with one Loop per server (default pollers: GOMAXPROCS), so no
// goroutine and no read buffer is held per idle connection. OnMessage echoes
// with WriteMessage on the poller goroutine. The client is hybi's blocking
// one (the Loop is a server feature), permessage-deflate as for hybi.
func HybiLoop() Lib {
	return Lib{Name: "hybi-loop", Module: "github.com/hybi/websocket (this tree), websocket.Loop server", Serve: hybiLoopServe, Dial: hybiDial}
}

type hybiLoopServer struct {
	ln   net.Listener
	http *httpServer
	loop *websocket.Loop
	reg  registry[*websocket.Conn]
}

func hybiLoopServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	s := &hybiLoopServer{ln: ln}
	loop, err := websocket.NewLoop(&websocket.LoopOptions{
		OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
			if err := c.WriteMessage(typ, p); err != nil {
				c.CloseNow()
			}
		},
		OnClose: func(c *websocket.Conn, _ error) { s.reg.remove(c) },
	})
	if err != nil {
		return nil, err
	}
	s.loop = loop
	s.http = hybiAccept(ln, cfg, s.add)
	return s, nil
}

// add registers c before handing it to the loop, so that OnClose, which
// may run before Add returns, always finds it to remove.
func (s *hybiLoopServer) add(c *websocket.Conn) {
	s.reg.add(c)
	if err := s.loop.Add(c); err != nil {
		s.reg.remove(c)
		c.CloseNow()
	}
}

func (s *hybiLoopServer) Broadcast(p []byte) error {
	// Encoded once, written to every connection (as gorilla's
	// PreparedMessage and gws's Broadcaster do for their rows).
	pm, err := websocket.NewPreparedMessage(websocket.Binary, p)
	if err != nil {
		return err
	}
	return s.reg.each(func(c *websocket.Conn) error { return c.WritePreparedMessage(pm) })
}

func (s *hybiLoopServer) Conns() int { return s.reg.len() }

func (s *hybiLoopServer) Close() error {
	if s.http != nil {
		s.http.s.Close()
	}
	s.ln.Close()
	return s.loop.Close()
}
