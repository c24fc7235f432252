package lib

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// Nbio is github.com/lesismal/nbio/nbhttp/websocket, event driven: the raw
// path is nbio's own epoll HTTP engine (nbhttp.Engine, no goroutine per
// connection), the net/http path is its Upgrader on a hijacked net/http
// connection (blocking mode, a reading goroutine per connection). OnMessage
// echoes with WriteMessage; payload buffers are released to nbio's pool
// after each callback (ReleasePayload).
func Nbio() Lib {
	return Lib{Name: "nbio", Module: "github.com/lesismal/nbio v1.6.8", Serve: nbioServe, Dial: nbioDial}
}

type nbioServer struct {
	ln     net.Listener
	http   *httpServer
	engine *nbhttp.Engine
	reg    registry[*websocket.Conn]
}

func nbioUpgrader(deflate bool) *websocket.Upgrader {
	u := websocket.NewUpgrader()
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.MessageLengthLimit = MaxMessage
	u.ReleasePayload = true
	u.EnableCompression(deflate)
	return u
}

func nbioServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	s := &nbioServer{ln: ln}
	u := nbioUpgrader(cfg.Deflate)
	u.OnOpen(func(c *websocket.Conn) { s.reg.add(c) })
	u.OnClose(func(c *websocket.Conn, _ error) { s.reg.remove(c) })
	u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})
	handler := func(w http.ResponseWriter, r *http.Request) {
		if _, err := u.Upgrade(w, r, nil); err != nil {
			return
		}
	}
	if cfg.HTTP {
		s.http = serveHTTP(ln, handler)
		return s, nil
	}
	s.engine = nbhttp.NewEngine(nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{ln.Addr().String()},
		Listen:                  func(string, string) (net.Listener, error) { return ln, nil },
		MaxLoad:                 1 << 20,
		ReleaseWebsocketPayload: true,
		// Run callbacks on the poller goroutine: the echo never blocks
		// (nbio's writes are queued), so the hop to nbio's default
		// task pool would only add latency.
		ServerExecutor: func(f func()) { f() },
		Handler:        http.HandlerFunc(handler),
	})
	if err := s.engine.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *nbioServer) Broadcast(p []byte) error {
	return s.reg.each(func(c *websocket.Conn) error { return c.WriteMessage(websocket.BinaryMessage, p) })
}

func (s *nbioServer) Conns() int { return s.reg.len() }

func (s *nbioServer) Close() error {
	if s.http != nil {
		s.http.s.Close()
	}
	if s.engine != nil {
		s.engine.Stop()
	}
	s.ln.Close()
	return s.reg.each(func(c *websocket.Conn) error { return c.Close() })
}

func init() {
	// nbio logs every engine start to standard output.
	logging.SetLevel(logging.LevelNone)
}

// nbioClients is the engine every nbio client shares, as nbio's client
// examples do.
var nbioClients = sync.OnceValues(func() (*nbhttp.Engine, error) {
	e := nbhttp.NewEngine(nbhttp.Config{})
	return e, e.Start()
})

var errNbioClosed = errors.New("nbio: connection closed")

type nbioClient struct {
	c    *websocket.Conn
	buf  []byte
	done chan error
}

func nbioDial(addr string, cfg ClientConfig) (Client, error) {
	e, err := nbioClients()
	if err != nil {
		return nil, err
	}
	c := &nbioClient{done: make(chan error, 1)}
	u := nbioUpgrader(cfg.Deflate)
	u.OnMessage(func(_ *websocket.Conn, _ websocket.MessageType, data []byte) {
		c.buf = append(c.buf[:0], data...)
		c.done <- nil
	})
	u.OnClose(func(*websocket.Conn, error) {
		select {
		case c.done <- errNbioClosed:
		default:
		}
	})
	d := &websocket.Dialer{Engine: e, Upgrader: u, DialTimeout: 10 * time.Second, EnableCompression: cfg.Deflate}
	conn, _, err := d.Dial("ws://"+addr+"/", nil)
	if err != nil {
		return nil, err
	}
	c.c = conn
	return c, nil
}

func (c *nbioClient) RoundTrip(p []byte) ([]byte, error) {
	if err := c.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return nil, err
	}
	if err := <-c.done; err != nil {
		return nil, err
	}
	return c.buf, nil
}

func (c *nbioClient) Close() error { return c.c.Close() }
