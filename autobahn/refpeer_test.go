package autobahn

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
)

// peerConfig switches the behaviour of the test echo peer, so that the
// runner can be shown to pass a conforming peer and to fail broken ones.
type peerConfig struct {
	skipUTF8     bool // never validate text (like coder/websocket's echo)
	acceptOpcode bool // ignore reserved opcodes and RSV bits instead of failing
	deflate      bool // negotiate permessage-deflate
	noCloseReply bool // never answer a close frame
	corrupt      bool // change the first byte of every echoed message
}

// echoPeer is a small, independent RFC 6455 echo endpoint for tests,
// written on package frame only. It plays either role: served over HTTP it
// is a server; given a client connection it is a client.
type echoPeer struct {
	cfg      peerConfig
	isServer bool
	conn     net.Conn
	br       *bufio.Reader
	pmd      *pmdSession
}

func (p *echoPeer) write(op frame.Opcode, rsv1 bool, payload []byte) error {
	var flags frame.Flags
	if rsv1 {
		flags |= frame.RSV1
	}
	h := frame.NewHeader(op, flags, [4]byte{}, int64(len(payload)))
	if !p.isServer {
		h = frame.NewHeader(op, flags|frame.Mask, [4]byte{1, 2, 3, 4}, int64(len(payload)))
	}
	_, err := p.conn.Write(frame.AppendFrame(nil, h, payload))
	return err
}

func (p *echoPeer) fail(code int) {
	p.write(frame.OpClose, false, binary.BigEndian.AppendUint16(nil, uint16(code)))
	if p.isServer {
		p.conn.Close()
		return
	}
	// A client waits for the server to close TCP (RFC 6455 §7.1.1).
	p.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := readFrame(p.br); err != nil {
			p.conn.Close()
			return
		}
	}
}

// serve echoes until the connection ends.
func (p *echoPeer) serve() {
	defer p.conn.Close()
	var (
		inMsg      bool
		op         frame.Opcode
		compressed bool
		buf        []byte
		v          utf8Validator
	)
	for {
		h, payload, err := readFrame(p.br)
		if err != nil {
			return
		}
		if h.Masked != p.isServer {
			p.fail(1002)
			return
		}
		if !p.cfg.acceptOpcode {
			rsv := h.RSV()
			if rsv != 0 && !(p.pmd != nil && rsv == frame.RSV1 && h.Opcode.IsData() && !inMsg && h.Opcode != frame.OpContinuation) {
				p.fail(1002)
				return
			}
			if h.Opcode.IsReserved() {
				p.fail(1002)
				return
			}
		} else if h.Opcode.IsReserved() {
			continue
		}
		if h.Opcode.IsControl() {
			if !h.Fin || len(payload) > 125 {
				p.fail(1002)
				return
			}
			switch h.Opcode {
			case frame.OpPing:
				p.write(frame.OpPong, false, payload)
			case frame.OpClose:
				if p.cfg.noCloseReply {
					continue
				}
				if len(payload) == 1 {
					p.fail(1002)
					return
				}
				if len(payload) >= 2 {
					if !closeCodeAllowed(int(binary.BigEndian.Uint16(payload))) {
						p.fail(1002)
						return
					}
					if !p.cfg.skipUTF8 && !validUTF8(payload[2:]) {
						p.fail(1007)
						return
					}
				}
				p.write(frame.OpClose, false, binary.BigEndian.AppendUint16(nil, 1000))
				if !p.isServer {
					p.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
					for {
						if _, _, err := readFrame(p.br); err != nil {
							return
						}
					}
				}
				return
			}
			continue
		}
		if h.Opcode == frame.OpContinuation {
			if !inMsg {
				p.fail(1002)
				return
			}
		} else {
			if inMsg {
				p.fail(1002)
				return
			}
			inMsg, op, buf = true, h.Opcode, buf[:0]
			compressed = h.RSV1 && p.pmd != nil
			v.reset()
		}
		buf = append(buf, payload...)
		if op == frame.OpText && !compressed && !p.cfg.skipUTF8 && !v.write(payload) {
			p.fail(1007)
			return
		}
		if !h.Fin {
			continue
		}
		inMsg = false
		msg := buf
		if compressed {
			out, err := p.pmd.decompress(msg, 64<<20)
			if err != nil {
				p.fail(1007)
				return
			}
			msg = out
			if op == frame.OpText && !p.cfg.skipUTF8 && !validUTF8(msg) {
				p.fail(1007)
				return
			}
		} else if op == frame.OpText && !p.cfg.skipUTF8 && !v.complete() {
			p.fail(1007)
			return
		}
		if p.cfg.corrupt && len(msg) > 0 && msg[0] < 0x80 {
			msg = append([]byte(nil), msg...)
			msg[0] = '#' + msg[0]%2
		}
		if p.pmd != nil {
			p.write(op, true, p.pmd.compress(msg))
		} else {
			p.write(op, false, msg)
		}
	}
}

// startEchoServer serves the echo peer over HTTP on loopback.
func startEchoServer(t testing.TB, cfg peerConfig) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var accept acceptFunc
		if cfg.deflate {
			accept = acceptWith(false, 0)
		}
		conn, br, pmd, err := serverHandshake(w, r, accept)
		if err != nil {
			return
		}
		(&echoPeer{cfg: cfg, isServer: true, conn: conn, br: br, pmd: pmd}).serve()
	}))
	t.Cleanup(srv.Close)
	return "ws://" + strings.TrimPrefix(srv.URL, "http://")
}
