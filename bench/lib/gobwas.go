package lib

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// Gobwas is github.com/gobwas/ws with its low-level API: raw path
// ws.Upgrade on the net.Conn, net/http path ws.UpgradeHTTP; frames read with
// ws.ReadHeader and io.ReadFull from a 4 KiB bufio.Reader into a reusable
// buffer, unmasked with ws.Cipher, written with ws.WriteHeader and the
// payload through a 4 KiB bufio.Writer; broadcasts send one frame compiled
// once with ws.CompileFrame. permessage-deflate uses wsflate's frame-level
// helpers (wsflate.Extension to negotiate, DecompressFrameBuffer and
// CompressFrameBuffer on whole frames, compress/flate at BestSpeed
// underneath, one compressor and decompressor per connection).
func Gobwas() Lib {
	return Lib{Name: "gobwas", Module: "github.com/gobwas/ws v1.5.0", Serve: gobwasServe, Dial: gobwasDial}
}

type gobwasConn struct {
	nc  net.Conn
	br  *bufio.Reader
	mu  sync.Mutex // guards bw: the echo loop and Broadcast write
	bw  *bufio.Writer
	buf []byte

	deflate bool         // permessage-deflate was negotiated
	dbuf    bytes.Buffer // decompressed payload
	cbuf    bytes.Buffer // compressed payload
	helper  *wsflate.Helper
	fw      *flate.Writer
	fr      io.ReadCloser
}

// gobwasDeflate is what both sides offer and accept: no context takeover.
var gobwasDeflate = wsflate.Parameters{ServerNoContextTakeover: true, ClientNoContextTakeover: true}

// flateHelper returns the connection's wsflate.Helper: compress/flate at
// BestSpeed, the level the other libraries use by default (wsflate's
// DefaultHelper uses level 9), with one compressor and one decompressor per
// connection reset for every frame instead of new ones each time.
func (c *gobwasConn) flateHelper() *wsflate.Helper {
	if c.helper != nil {
		return c.helper
	}
	c.helper = &wsflate.Helper{
		Compressor: func(w io.Writer) wsflate.Compressor {
			if c.fw == nil {
				c.fw, _ = flate.NewWriter(w, flate.BestSpeed)
			} else {
				c.fw.Reset(w)
			}
			return c.fw
		},
		Decompressor: func(r io.Reader) wsflate.Decompressor {
			if c.fr == nil {
				c.fr = flate.NewReader(r)
			} else {
				c.fr.(flate.Resetter).Reset(r, nil)
			}
			return c.fr
		},
	}
	return c.helper
}

var errGobwasClosed = errors.New("gobwas: close frame")

// read reads one data message (this benchmark never fragments) and unmasks
// it; control frames other than close are skipped.
func (c *gobwasConn) read() (ws.OpCode, []byte, error) {
	for {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return 0, nil, err
		}
		if h.Length > MaxMessage {
			return 0, nil, ws.ErrProtocolControlPayloadOverflow
		}
		n := int(h.Length)
		if cap(c.buf) < n {
			c.buf = make([]byte, n)
		}
		p := c.buf[:n]
		if _, err := io.ReadFull(c.br, p); err != nil {
			return 0, nil, err
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		switch {
		case h.OpCode == ws.OpClose:
			return 0, nil, errGobwasClosed
		case h.OpCode.IsControl():
			continue
		}
		if c.deflate {
			if ok, err := wsflate.IsCompressed(h); err != nil {
				return 0, nil, err
			} else if ok {
				c.dbuf.Reset()
				f, err := c.flateHelper().DecompressFrameBuffer(&c.dbuf, ws.Frame{Header: h, Payload: p})
				if err != nil {
					return 0, nil, err
				}
				p = f.Payload
			}
		}
		return h.OpCode, p, nil
	}
}

// write sends p as one frame, masked with a fresh key when client is set
// (p is then masked in place: callers pass their own scratch copy).
func (c *gobwasConn) write(op ws.OpCode, p []byte, client bool) error {
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(p))}
	if c.deflate {
		c.cbuf.Reset()
		f, err := c.flateHelper().CompressFrameBuffer(&c.cbuf, ws.Frame{Header: h, Payload: p})
		if err != nil {
			return err
		}
		h, p = f.Header, f.Payload
	}
	if client {
		h.Masked = true
		h.Mask = ws.NewMask()
		ws.Cipher(p, h.Mask, 0)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ws.WriteHeader(c.bw, h); err != nil {
		return err
	}
	if _, err := c.bw.Write(p); err != nil {
		return err
	}
	return c.bw.Flush()
}

type gobwasServer struct {
	ln   net.Listener
	http *httpServer
	reg  registry[*gobwasConn]
}

func gobwasServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	s := &gobwasServer{ln: ln}
	if cfg.HTTP {
		s.http = serveHTTP(ln, func(w http.ResponseWriter, r *http.Request) {
			var u ws.HTTPUpgrader
			var e *wsflate.Extension
			if cfg.Deflate {
				e = &wsflate.Extension{Parameters: gobwasDeflate}
				u.Negotiate = e.Negotiate
			}
			nc, rw, _, err := u.Upgrade(r, w)
			if err != nil {
				return
			}
			s.echo(&gobwasConn{nc: nc, br: rw.Reader, bw: rw.Writer, deflate: accepted(e)})
		})
		return s, nil
	}
	go acceptLoop(ln, func(nc net.Conn) {
		var u ws.Upgrader
		var e *wsflate.Extension
		if cfg.Deflate {
			// An Extension negotiates one connection at a time.
			e = &wsflate.Extension{Parameters: gobwasDeflate}
			u.Negotiate = e.Negotiate
		}
		if _, err := u.Upgrade(nc); err != nil {
			nc.Close()
			return
		}
		s.echo(&gobwasConn{nc: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096), deflate: accepted(e)})
	})
	return s, nil
}

func accepted(e *wsflate.Extension) bool {
	if e == nil {
		return false
	}
	_, ok := e.Accepted()
	return ok
}

func (s *gobwasServer) echo(c *gobwasConn) {
	s.reg.add(c)
	defer s.reg.remove(c)
	defer c.nc.Close()
	for {
		op, p, err := c.read()
		if err != nil {
			return
		}
		if err := c.write(op, p, false); err != nil {
			return
		}
	}
}

func (s *gobwasServer) Broadcast(p []byte) error {
	f, err := ws.CompileFrame(ws.NewBinaryFrame(p))
	if err != nil {
		return err
	}
	return s.reg.each(func(c *gobwasConn) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, err := c.nc.Write(f)
		return err
	})
}

func (s *gobwasServer) Conns() int { return s.reg.len() }

func (s *gobwasServer) Close() error {
	if s.http != nil {
		s.http.s.Close()
	}
	s.ln.Close()
	return s.reg.each(func(c *gobwasConn) error { return c.nc.Close() })
}

type gobwasClient struct {
	c       *gobwasConn
	scratch []byte
}

func gobwasDial(addr string, cfg ClientConfig) (Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d ws.Dialer
	if cfg.Deflate {
		d.Extensions = []httphead.Option{gobwasDeflate.Option()}
	}
	nc, br, hs, err := d.Dial(ctx, "ws://"+addr+"/")
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, 4096)
	}
	c := &gobwasConn{nc: nc, br: br, bw: bufio.NewWriterSize(nc, 4096)}
	for _, e := range hs.Extensions {
		if string(e.Name) == wsflate.ExtensionName {
			c.deflate = true
		}
	}
	if cfg.Deflate && !c.deflate {
		nc.Close()
		return nil, errors.New("gobwas: server declined permessage-deflate")
	}
	return &gobwasClient{c: c}, nil
}

func (c *gobwasClient) RoundTrip(p []byte) ([]byte, error) {
	// ws.Cipher masks in place: mask a copy, as a client must not touch
	// the caller's payload.
	c.scratch = append(c.scratch[:0], p...)
	if err := c.c.write(ws.OpBinary, c.scratch, true); err != nil {
		return nil, err
	}
	_, msg, err := c.c.read()
	return msg, err
}

func (c *gobwasClient) Close() error { return c.c.nc.Close() }
