package peers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gobwas/ws/wsutil"
)

// gobwasConn adapts a connection made with gobwas/ws. gobwas is a set of
// frame-level primitives, so the reading loop is ours, built on
// ws.ReadHeader, ws.CheckHeader and ws.Cipher: it reassembles fragments,
// answers Pings with their payload and echoes the code of a Close. Writes
// use ws.WriteFrame (masked by the client, RFC 6455 §5.3).
// permessage-deflate comes from wsflate with its DefaultParameters (no
// context takeover either way): wsflate.CompressFrame for whole messages,
// wsflate.DecompressFrame for received ones whose first frame has RSV1.
type gobwasConn struct {
	*pump
	nc      net.Conn
	r       io.Reader
	state   ws.State
	wmu     sync.Mutex
	sentCl  bool
	proto   string
	ext     string // the agreed Sec-WebSocket-Extensions element, or ""
	deflate bool
}

func newGobwasConn(nc net.Conn, br *bufio.Reader, state ws.State, proto string, exts []httphead.Option) *gobwasConn {
	g := &gobwasConn{pump: newPump(), nc: nc, r: nc, state: state, proto: proto}
	for _, e := range exts {
		if string(e.Name) == wsflate.ExtensionName {
			g.deflate, g.ext = true, optionString(e)
			g.state = g.state.Set(ws.StateExtended)
		}
	}
	if br != nil && br.Buffered() > 0 {
		g.r = io.MultiReader(br, nc)
	}
	go g.read()
	return g
}

const gobwasMaxMessage = 64 << 20

func (g *gobwasConn) read() {
	var msg []byte
	var op ws.OpCode
	open, compressed := false, false
	for {
		h, err := ws.ReadHeader(g.r)
		if err != nil {
			g.stop(err)
			return
		}
		st := g.state
		if open {
			st = st.Set(ws.StateFragmented)
		}
		if err := ws.CheckHeader(h, st); err != nil {
			g.stop(err)
			return
		}
		if h.Length > gobwasMaxMessage || int64(len(msg))+h.Length > gobwasMaxMessage {
			g.stop(errors.New("peers: gobwas: message too big"))
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(g.r, payload); err != nil {
			g.stop(err)
			return
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPing:
			g.write(ws.NewPongFrame(payload))
		case ws.OpPong:
			g.pong(payload)
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(payload)
			g.wmu.Lock()
			sent := g.sentCl
			g.sentCl = true
			g.wmu.Unlock()
			if !sent {
				body := []byte(nil)
				if len(payload) >= 2 {
					body = ws.NewCloseFrameBody(code, "")
				}
				g.writeFrame(ws.NewCloseFrame(body))
			}
			g.stop(&closeError{int(code), reason})
			return
		case ws.OpContinuation:
			if !open {
				g.stop(errors.New("peers: gobwas: unexpected continuation"))
				return
			}
			msg = append(msg, payload...)
		default:
			if open {
				g.stop(errors.New("peers: gobwas: new message inside a fragmented one"))
				return
			}
			op, msg, open = h.OpCode, payload, true
			compressed = false
			if g.deflate {
				if compressed, err = wsflate.IsCompressed(h); err != nil {
					g.stop(err)
					return
				}
			}
		}
		if !h.OpCode.IsControl() && h.Fin {
			open = false
			if compressed {
				f := ws.NewFrame(op, true, msg)
				f.Header.Rsv = ws.Rsv(true, false, false)
				f, err := wsflate.DecompressFrame(f)
				if err != nil {
					g.stop(err)
					return
				}
				msg = f.Payload
			}
			if !g.message(Message{Binary: op == ws.OpBinary, Data: msg}) {
				g.stop(errors.New("peers: aborted"))
				return
			}
			msg = nil
		}
	}
}

// write sends f unless a Close frame was already sent.
func (g *gobwasConn) write(f ws.Frame) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.sentCl {
		return errors.New("peers: gobwas: close already sent")
	}
	return g.writeLocked(f)
}

func (g *gobwasConn) writeFrame(f ws.Frame) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	return g.writeLocked(f)
}

func (g *gobwasConn) writeLocked(f ws.Frame) error {
	if g.state.ClientSide() {
		f.Payload = append([]byte(nil), f.Payload...)
		f = ws.MaskFrameInPlace(f)
	}
	g.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteFrame(g.nc, f)
}

func gobwasOp(m Message) ws.OpCode {
	if m.Binary {
		return ws.OpBinary
	}
	return ws.OpText
}

func (g *gobwasConn) Send(ctx context.Context, m Message) error {
	f := ws.NewFrame(gobwasOp(m), true, m.Data)
	if g.deflate {
		var err error
		if f, err = wsflate.CompressFrame(f); err != nil {
			return err
		}
	}
	return g.write(f)
}

// SendFragmented sends FragmentSize-byte frames with a Ping after the
// first one: control frames may be injected in the middle of a fragmented
// message (RFC 6455 §5.4).
func (g *gobwasConn) SendFragmented(ctx context.Context, m Message) error {
	op := gobwasOp(m)
	p := m.Data
	for first := true; ; first = false {
		n := min(len(p), FragmentSize)
		fin := n == len(p)
		if err := g.write(ws.NewFrame(op, fin, p[:n])); err != nil {
			return err
		}
		if first && !fin {
			if err := g.write(ws.NewPingFrame([]byte("mid-message"))); err != nil {
				return err
			}
		}
		p = p[n:]
		op = ws.OpContinuation
		if fin {
			return nil
		}
	}
}

func (g *gobwasConn) PingWait(ctx context.Context, payload string) (string, error) {
	if err := g.write(ws.NewPingFrame([]byte(payload))); err != nil {
		return "", err
	}
	return "pong echoed " + payload, g.waitPong(ctx, payload)
}

func (g *gobwasConn) Close(ctx context.Context, code int, reason string) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.sentCl {
		return errors.New("peers: gobwas: close already sent")
	}
	g.sentCl = true
	return g.writeLocked(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusCode(code), reason)))
}

func (g *gobwasConn) Subprotocol() string { return g.proto }
func (g *gobwasConn) Extensions() string  { return g.ext }
func (g *gobwasConn) Abort()              { g.abort(); g.nc.Close() }

func gobwasLib() Lib {
	return Lib{
		Name:    "gobwas",
		Deflate: true,
		Dial: func(ctx context.Context, url string, o DialOptions) (Conn, int, string, error) {
			var status int
			var reason string
			var exts []httphead.Option
			if o.Deflate {
				exts = []httphead.Option{wsflate.DefaultParameters.Option()}
			}
			d := ws.Dialer{
				Protocols:  o.Subprotocols,
				Extensions: exts,
				Timeout:    10 * time.Second,
				// The body is not read: with keep-alive it never ends.
				OnStatusError: func(s int, r []byte, _ io.Reader) {
					status = s
					reason = fmt.Sprintf("%d %s", s, r)
				},
			}
			nc, br, hs, err := d.Dial(ctx, url)
			if err != nil {
				return nil, status, reason, err
			}
			return newGobwasConn(nc, br, ws.StateClientSide, hs.Protocol, hs.Extensions), 0, "", nil
		},
		Upgrade: func(w http.ResponseWriter, r *http.Request, deflate bool) (Conn, error) {
			u := ws.HTTPUpgrader{Protocol: func(p string) bool { return p == Subprotocol }}
			if deflate {
				e := &wsflate.Extension{Parameters: wsflate.DefaultParameters}
				u.Negotiate = e.Negotiate
			}
			nc, rw, hs, err := u.Upgrade(r, w)
			if err != nil {
				return nil, err
			}
			return newGobwasConn(nc, rw.Reader, ws.StateServerSide, hs.Protocol, hs.Extensions), nil
		},
		Echo: http.HandlerFunc(gobwasEcho),
	}
}

// gobwasEcho is the echo server of gobwas's README: UpgradeHTTP, then
// wsutil.ReadClientData and wsutil.WriteServerMessage (which also answer
// control frames).
func gobwasEcho(w http.ResponseWriter, r *http.Request) {
	nc, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return
	}
	defer nc.Close()
	for {
		msg, op, err := wsutil.ReadClientData(nc)
		if err != nil {
			return
		}
		if err := wsutil.WriteServerMessage(nc, op, msg); err != nil {
			return
		}
	}
}

// optionString renders an extension element in its wire form.
func optionString(o httphead.Option) string {
	s := string(o.Name)
	o.Parameters.ForEach(func(k, v []byte) bool {
		s += "; " + string(k)
		if len(v) > 0 {
			s += "=" + string(v)
		}
		return true
	})
	return s
}
