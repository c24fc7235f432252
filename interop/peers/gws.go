package peers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lxzan/gws"
)

// gwsConn adapts a *gws.Conn of lxzan/gws, which is event driven: the
// handler's callbacks feed the pump. OnPing answers with the Ping's payload,
// as RFC 6455 §5.5.3 requires; note that gws's BuiltinEventHandler.OnPing
// answers with an empty Pong, so a gws user must write this handler.
type gwsConn struct {
	*pump
	c   *gws.Conn
	ext string
}

type gwsHandler struct{ g *gwsConn }

func (h *gwsHandler) OnOpen(*gws.Conn) {}

func (h *gwsHandler) OnClose(_ *gws.Conn, err error) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		err = &closeError{int(ce.Code), string(ce.Reason)}
	}
	h.g.stop(err)
}

func (h *gwsHandler) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }
func (h *gwsHandler) OnPong(_ *gws.Conn, payload []byte) { h.g.pong(payload) }

func (h *gwsHandler) OnMessage(_ *gws.Conn, m *gws.Message) {
	data := append([]byte{}, m.Bytes()...)
	binary := m.Opcode == gws.OpcodeBinary
	m.Close()
	h.g.message(Message{Binary: binary, Data: data})
}

func gwsOp(m Message) gws.Opcode {
	if m.Binary {
		return gws.OpcodeBinary
	}
	return gws.OpcodeText
}

func (g *gwsConn) Send(ctx context.Context, m Message) error {
	return g.c.WriteMessage(gwsOp(m), m.Data)
}

// chunkReader returns at most FragmentSize bytes per Read.
type chunkReader struct{ p []byte }

func (r *chunkReader) Read(b []byte) (int, error) {
	if len(r.p) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), FragmentSize)], r.p)
	r.p = r.p[n:]
	return n, nil
}

// SendFragmented uses WriteFile, gws's only fragmenting writer: one frame
// per Read of the source (then an empty final frame at EOF).
func (g *gwsConn) SendFragmented(ctx context.Context, m Message) error {
	return g.c.WriteFile(gwsOp(m), &chunkReader{m.Data})
}

func (g *gwsConn) PingWait(ctx context.Context, payload string) (string, error) {
	if err := g.c.WritePing([]byte(payload)); err != nil {
		return "", err
	}
	return "pong echoed " + payload, g.waitPong(ctx, payload)
}

// Close is gws's WriteClose, which sends the Close frame and closes the
// TCP connection at once, without waiting for the reply.
func (g *gwsConn) Close(ctx context.Context, code int, reason string) error {
	return g.c.WriteClose(uint16(code), []byte(reason))
}

func (g *gwsConn) Subprotocol() string { return g.c.SubProtocol() }
func (g *gwsConn) Extensions() string  { return g.ext }
func (g *gwsConn) Abort()              { g.abort(); g.c.NetConn().Close() }

func gwsDeflate(on bool) gws.PermessageDeflate {
	return gws.PermessageDeflate{Enabled: on, ServerContextTakeover: true, ClientContextTakeover: true}
}

func gwsLib() Lib {
	return Lib{
		Name:    "gws",
		Deflate: true,
		Dial: func(ctx context.Context, url string, o DialOptions) (Conn, int, string, error) {
			g := &gwsConn{pump: newPump()}
			// gws reads the offer from one header line (Header.Get), so the
			// list goes comma-separated in one line.
			h := http.Header{}
			if len(o.Subprotocols) > 0 {
				h.Set("Sec-WebSocket-Protocol", strings.Join(o.Subprotocols, ", "))
			}
			c, resp, err := gws.NewClient(&gwsHandler{g}, &gws.ClientOption{
				Addr:               url,
				RequestHeader:      h,
				HandshakeTimeout:   10 * time.Second,
				PermessageDeflate:  gwsDeflate(o.Deflate),
				ReadMaxPayloadSize: 64 << 20,
				CheckUtf8Enabled:   true,
			})
			if err != nil {
				if resp != nil {
					return nil, resp.StatusCode, resp.Status, err
				}
				return nil, 0, "", err
			}
			g.c, g.ext = c, resp.Header.Get("Sec-WebSocket-Extensions")
			go c.ReadLoop()
			return g, 0, "", nil
		},
		Upgrade: func(w http.ResponseWriter, r *http.Request, deflate bool) (Conn, error) {
			g := &gwsConn{pump: newPump()}
			// A gws server with SubProtocols refuses (400) every client that
			// offers none of them, including clients that offer none at
			// all; so the list is set only when the client offers one.
			var protos []string
			if r.Header.Get("Sec-WebSocket-Protocol") != "" {
				protos = []string{Subprotocol}
			}
			u := gws.NewUpgrader(&gwsHandler{g}, &gws.ServerOption{
				SubProtocols:       protos,
				PermessageDeflate:  gwsDeflate(deflate),
				ReadMaxPayloadSize: 64 << 20,
				CheckUtf8Enabled:   true,
			})
			cw := &headerCapture{ResponseWriter: w}
			c, err := u.Upgrade(cw, r)
			if err != nil {
				return nil, err
			}
			g.c, g.ext = c, cw.ext
			go c.ReadLoop()
			return g, nil
		},
		Echo: gwsEchoHandler(),
	}
}

// gwsEcho is the echo server of gws's README: an Event whose OnMessage
// writes the message back, with OnPing answering the Ping's payload.
type gwsEcho struct{ gws.BuiltinEventHandler }

func (gwsEcho) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (gwsEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

func gwsEchoHandler() http.Handler {
	u := gws.NewUpgrader(gwsEcho{}, &gws.ServerOption{
		ReadMaxPayloadSize: 64 << 20,
		CheckUtf8Enabled:   true,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	})
}
