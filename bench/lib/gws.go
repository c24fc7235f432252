package lib

import (
	"net"
	"net/http"
	"sync"

	"github.com/lxzan/gws"
)

// Gws is github.com/lxzan/gws, event driven: raw path gws.Server (its own
// accept loop and request parsing, then UpgradeFromConn), net/http path
// Upgrader.Upgrade; each connection runs ReadLoop and OnMessage echoes with
// WriteMessage; broadcasts use gws.Broadcaster, which frames the message
// once.
func Gws() Lib {
	return Lib{Name: "gws", Module: "github.com/lxzan/gws v1.8.9", Serve: gwsServe, Dial: gwsDial}
}

func gwsDeflate(on bool) gws.PermessageDeflate {
	// With context takeover on both sides, as hybi and coder negotiate.
	return gws.PermessageDeflate{Enabled: on, ServerContextTakeover: on, ClientContextTakeover: on}
}

type gwsServer struct {
	ln   net.Listener
	http *httpServer
	reg  registry[*gws.Conn]
}

type gwsServerHandler struct {
	gws.BuiltinEventHandler
	s *gwsServer
}

func (h *gwsServerHandler) OnOpen(c *gws.Conn)           { h.s.reg.add(c) }
func (h *gwsServerHandler) OnClose(c *gws.Conn, _ error) { h.s.reg.remove(c) }
func (h *gwsServerHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	_ = c.WriteMessage(m.Opcode, m.Bytes())
	m.Close()
}

// quietListener makes Accept block after Close instead of failing: gws's
// RunListener retries a failed Accept forever.
type quietListener struct {
	net.Listener
	once sync.Once
	done chan struct{}
}

func (l *quietListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		<-l.done
	}
	return nc, err
}

func (l *quietListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func gwsServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	s := &gwsServer{ln: ln}
	opt := &gws.ServerOption{
		ReadMaxPayloadSize: MaxMessage,
		PermessageDeflate:  gwsDeflate(cfg.Deflate),
	}
	h := &gwsServerHandler{s: s}
	if cfg.HTTP {
		u := gws.NewUpgrader(h, opt)
		s.http = serveHTTP(ln, func(w http.ResponseWriter, r *http.Request) {
			c, err := u.Upgrade(w, r)
			if err != nil {
				return
			}
			c.ReadLoop()
		})
		return s, nil
	}
	srv := gws.NewServer(h, opt)
	srv.OnError = func(net.Conn, error) {}
	ql := &quietListener{Listener: ln, done: make(chan struct{})}
	s.ln = ql
	go srv.RunListener(ql)
	return s, nil
}

func (s *gwsServer) Broadcast(p []byte) error {
	b := gws.NewBroadcaster(gws.OpcodeBinary, p)
	defer b.Close()
	return s.reg.each(func(c *gws.Conn) error { return b.Broadcast(c) })
}

func (s *gwsServer) Conns() int { return s.reg.len() }

func (s *gwsServer) Close() error {
	if s.http != nil {
		s.http.s.Close()
	}
	s.ln.Close()
	return s.reg.each(func(c *gws.Conn) error { return c.NetConn().Close() })
}

// gwsClient turns gws's callbacks into a blocking round trip: OnMessage
// copies the message into buf and signals done.
type gwsClient struct {
	gws.BuiltinEventHandler
	c    *gws.Conn
	buf  []byte
	done chan error
}

func (c *gwsClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	c.buf = append(c.buf[:0], m.Bytes()...)
	m.Close()
	c.done <- nil
}

func (c *gwsClient) OnClose(_ *gws.Conn, err error) {
	if err == nil {
		err = net.ErrClosed
	}
	select {
	case c.done <- err:
	default:
	}
}

func gwsDial(addr string, cfg ClientConfig) (Client, error) {
	c := &gwsClient{done: make(chan error, 1)}
	conn, _, err := gws.NewClient(c, &gws.ClientOption{
		Addr:               "ws://" + addr + "/",
		ReadMaxPayloadSize: MaxMessage,
		PermessageDeflate:  gwsDeflate(cfg.Deflate),
	})
	if err != nil {
		return nil, err
	}
	c.c = conn
	go conn.ReadLoop()
	return c, nil
}

func (c *gwsClient) RoundTrip(p []byte) ([]byte, error) {
	if err := c.c.WriteMessage(gws.OpcodeBinary, p); err != nil {
		return nil, err
	}
	if err := <-c.done; err != nil {
		return nil, err
	}
	return c.buf, nil
}

func (c *gwsClient) Close() error { return c.c.NetConn().Close() }
