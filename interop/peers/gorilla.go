package peers

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// gorillaConn adapts a *websocket.Conn of gorilla/websocket: one goroutine
// calls ReadMessage (which runs the ping, pong and close handlers); writes
// are serialised, as gorilla allows one concurrent writer.
type gorillaConn struct {
	*pump
	c   *websocket.Conn
	wmu sync.Mutex
	ext string
}

func newGorillaConn(c *websocket.Conn, ext string) *gorillaConn {
	g := &gorillaConn{pump: newPump(), c: c, ext: ext}
	c.SetPongHandler(func(s string) error { g.pong([]byte(s)); return nil })
	go g.read()
	return g
}

func (g *gorillaConn) read() {
	for {
		mt, data, err := g.c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				err = &closeError{ce.Code, ce.Text}
			}
			g.stop(err)
			return
		}
		if !g.message(Message{Binary: mt == websocket.BinaryMessage, Data: data}) {
			g.stop(errors.New("peers: aborted"))
			return
		}
	}
}

func gorillaType(m Message) int {
	if m.Binary {
		return websocket.BinaryMessage
	}
	return websocket.TextMessage
}

func (g *gorillaConn) Send(ctx context.Context, m Message) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	return g.c.WriteMessage(gorillaType(m), m.Data)
}

// SendFragmented writes through NextWriter: gorilla sends a frame each time
// its write buffer (4 KiB by default) fills, so the frame size is gorilla's
// choice.
func (g *gorillaConn) SendFragmented(ctx context.Context, m Message) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	w, err := g.c.NextWriter(gorillaType(m))
	if err != nil {
		return err
	}
	for p := m.Data; len(p) > 0; {
		n := min(len(p), FragmentSize)
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return w.Close()
}

func (g *gorillaConn) PingWait(ctx context.Context, payload string) (string, error) {
	if err := g.c.WriteControl(websocket.PingMessage, []byte(payload), time.Now().Add(5*time.Second)); err != nil {
		return "", err
	}
	return "pong echoed " + payload, g.waitPong(ctx, payload)
}

func (g *gorillaConn) Close(ctx context.Context, code int, reason string) error {
	return g.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(5*time.Second))
}

func (g *gorillaConn) Subprotocol() string { return g.c.Subprotocol() }
func (g *gorillaConn) Extensions() string  { return g.ext }
func (g *gorillaConn) Abort()              { g.abort(); g.c.Close() }

func gorillaLib() Lib {
	return Lib{
		Name:    "gorilla",
		Deflate: true,
		Dial: func(ctx context.Context, url string, o DialOptions) (Conn, int, string, error) {
			d := websocket.Dialer{Subprotocols: o.Subprotocols, EnableCompression: o.Deflate, HandshakeTimeout: 10 * time.Second}
			c, resp, err := d.DialContext(ctx, url, nil)
			if err != nil {
				if resp != nil {
					return nil, resp.StatusCode, resp.Status, err
				}
				return nil, 0, "", err
			}
			return newGorillaConn(c, resp.Header.Get("Sec-WebSocket-Extensions")), 0, "", nil
		},
		Upgrade: func(w http.ResponseWriter, r *http.Request, deflate bool) (Conn, error) {
			u := websocket.Upgrader{
				Subprotocols:      []string{Subprotocol},
				EnableCompression: deflate,
				CheckOrigin:       func(*http.Request) bool { return true },
			}
			// gorilla does not report the agreed extensions; capture the
			// response header it writes.
			cw := &headerCapture{ResponseWriter: w}
			c, err := u.Upgrade(cw, r, nil)
			if err != nil {
				return nil, err
			}
			return newGorillaConn(c, cw.ext), nil
		},
		Echo: http.HandlerFunc(gorillaEcho),
	}
}

// gorillaEcho is the echo server of gorilla's documentation: NextReader,
// NextWriter, io.Copy.
func gorillaEcho(w http.ResponseWriter, r *http.Request) {
	u := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	c, err := u.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		mt, rd, err := c.NextReader()
		if err != nil {
			return
		}
		wr, err := c.NextWriter(mt)
		if err != nil {
			return
		}
		if _, err := copyBuf(wr, rd); err != nil {
			return
		}
		if err := wr.Close(); err != nil {
			return
		}
	}
}
