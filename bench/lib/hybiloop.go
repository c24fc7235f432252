package lib

import (
	"net"

	websocket "github.com/hybi/websocket"
)

// HybiLoop is this module's server with a websocket.Loop: raw path
// websocket.Upgrade on the net.Conn, net/http path websocket.Accept, then
// Loop.Add, with one Loop per server (default pollers: GOMAXPROCS), so no
// goroutine and no read buffer is held per idle connection. OnMessage echoes
// with WriteMessage on the poller goroutine. Connections are kept in a
// websocket.Hub, which broadcasts a PreparedMessage (its writes to Loop
// connections spread over the cores). The client is hybi's blocking one
// (the Loop is a server feature), permessage-deflate as for hybi.
func HybiLoop() Lib {
	return Lib{Name: "hybi-loop", Module: "github.com/hybi/websocket (this tree), websocket.Loop server", Serve: hybiLoopServe, Dial: hybiDial}
}

type hybiLoopServer struct {
	ln   net.Listener
	http *httpServer
	loop *websocket.Loop
	hub  websocket.Hub
}

func hybiLoopServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	s := &hybiLoopServer{ln: ln}
	loop, err := websocket.NewLoop(&websocket.LoopOptions{
		OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
			if err := c.WriteMessage(typ, p); err != nil {
				c.CloseNow()
			}
		},
		OnClose: func(c *websocket.Conn, _ error) { s.hub.Remove(c) },
	})
	if err != nil {
		return nil, err
	}
	s.loop = loop
	s.http = hybiAccept(ln, cfg, s.add)
	return s, nil
}

// add hands c to the loop, then to the hub (which must see it served by
// the loop). If c ended in between, OnClose found nothing to remove: the
// hub drops it at the next broadcast, whose write fails.
func (s *hybiLoopServer) add(c *websocket.Conn) {
	if err := s.loop.Add(c); err != nil {
		c.CloseNow()
		return
	}
	s.hub.Add(c)
}

func (s *hybiLoopServer) Broadcast(p []byte) error {
	// Encoded once, written to every connection (as gorilla's
	// PreparedMessage and gws's Broadcaster do for their rows).
	pm, err := websocket.NewPreparedMessage(websocket.Binary, p)
	if err != nil {
		return err
	}
	s.hub.Broadcast(pm)
	return nil
}

func (s *hybiLoopServer) Conns() int { return s.hub.Len() }

func (s *hybiLoopServer) Close() error {
	if s.http != nil {
		s.http.s.Close()
	}
	s.ln.Close()
	s.hub.Close()
	return s.loop.Close()
}
