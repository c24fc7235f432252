package peers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// coderConn adapts a *websocket.Conn of coder/websocket. One goroutine
// calls Read (coder handles control frames inside Read); coder's writes are
// safe for concurrent use. coder chooses its own Ping payload, so PingWait
// uses Ping(ctx), which returns only once the Pong echoing that payload
// arrived, and OnPongReceived to report what it was.
type coderConn struct {
	*pump
	c   *websocket.Conn
	ext string
}

func newCoderConn(c *websocket.Conn, ext string) *coderConn {
	k := &coderConn{pump: newPump(), c: c, ext: ext}
	c.SetReadLimit(64 << 20)
	go k.read()
	return k
}

func (k *coderConn) read() {
	for {
		mt, data, err := k.c.Read(context.Background())
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				err = &closeError{int(ce.Code), ce.Reason}
			}
			k.stop(err)
			return
		}
		if !k.message(Message{Binary: mt == websocket.MessageBinary, Data: data}) {
			k.stop(errors.New("peers: aborted"))
			return
		}
	}
}

func coderType(m Message) websocket.MessageType {
	if m.Binary {
		return websocket.MessageBinary
	}
	return websocket.MessageText
}

func (k *coderConn) Send(ctx context.Context, m Message) error {
	return k.c.Write(ctx, coderType(m), m.Data)
}

// SendFragmented writes FragmentSize bytes per Write call of a Writer;
// uncompressed, coder sends one frame per Write.
func (k *coderConn) SendFragmented(ctx context.Context, m Message) error {
	w, err := k.c.Writer(ctx, coderType(m))
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

func (k *coderConn) PingWait(ctx context.Context, payload string) (string, error) {
	if err := k.c.Ping(ctx); err != nil {
		return "", err
	}
	return "coder pings with its own payload; Ping returned after the matching pong", nil
}

// Close runs coder's closing handshake (it sends the Close frame and waits
// for the reply) in the background, so the scenario can watch Recv.
func (k *coderConn) Close(ctx context.Context, code int, reason string) error {
	go k.c.Close(websocket.StatusCode(code), reason)
	return nil
}

func (k *coderConn) Subprotocol() string { return k.c.Subprotocol() }
func (k *coderConn) Extensions() string  { return k.ext }
func (k *coderConn) Abort()              { k.abort(); k.c.CloseNow() }

func coderLib() Lib {
	return Lib{
		Name:    "coder",
		Deflate: true,
		Dial: func(ctx context.Context, url string, o DialOptions) (Conn, int, string, error) {
			opts := &websocket.DialOptions{Subprotocols: o.Subprotocols}
			if o.Deflate {
				opts.CompressionMode = websocket.CompressionContextTakeover
			}
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, url, opts)
			if err != nil {
				if resp != nil {
					return nil, resp.StatusCode, resp.Status, err
				}
				return nil, 0, "", err
			}
			return newCoderConn(c, resp.Header.Get("Sec-WebSocket-Extensions")), 0, "", nil
		},
		Upgrade: func(w http.ResponseWriter, r *http.Request, deflate bool) (Conn, error) {
			opts := &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}, InsecureSkipVerify: true}
			if deflate {
				opts.CompressionMode = websocket.CompressionContextTakeover
			}
			c, err := websocket.Accept(w, r, opts)
			if err != nil {
				return nil, err
			}
			return newCoderConn(c, w.Header().Get("Sec-WebSocket-Extensions")), nil
		},
		Echo: http.HandlerFunc(coderEcho),
	}
}

// coderEcho is the echo server of coder's documentation: Reader, Writer,
// io.Copy, with compression off (the default).
func coderEcho(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	ctx := r.Context()
	for {
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			return
		}
		wr, err := c.Writer(ctx, typ)
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
