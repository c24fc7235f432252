package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// Hostile-peer probes against both servers: a goroutine per connection
// (Upgrade and ReadMessage) and a Loop. The attacker is a raw TCP client
// on loopback that writes whatever bytes it likes; every probe is bounded
// in connections, bytes and time, and asserts what RFC 6455 asks for.

// hostileServer is an echo server under attack.
type hostileServer struct {
	ln   net.Listener
	loop *Loop
	errs chan error // how each server-side connection ended
	wg   sync.WaitGroup
}

func startHostileServer(t *testing.T, useLoop bool, opts *AcceptOptions) *hostileServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &hostileServer{ln: ln, errs: make(chan error, 1024)}
	if useLoop {
		s.loop, err = NewLoop(&LoopOptions{
			OnMessage: func(c *Conn, typ MessageType, p []byte) { c.WriteMessage(typ, p) },
			OnClose:   func(c *Conn, err error) { s.errs <- err },
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				c, err := Upgrade(nc, nil, opts)
				if err != nil {
					nc.Close()
					s.errs <- err
					return
				}
				if s.loop != nil {
					if err := s.loop.Add(c); err != nil {
						s.errs <- err
					}
					return
				}
				defer c.CloseNow()
				var buf []byte
				for {
					typ, p, err := c.ReadMessage(buf)
					if err != nil {
						s.errs <- err
						return
					}
					buf = p
					c.WriteMessage(typ, p)
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		if s.loop != nil {
			s.loop.Close()
		}
		s.wg.Wait()
	})
	return s
}

func (s *hostileServer) addr() string { return s.ln.Addr().String() }

// serverErr returns how the next server-side connection ended.
func (s *hostileServer) serverErr(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-s.errs:
		return err
	case <-time.After(within):
		t.Fatalf("the server's connection did not end within %v", within)
		return nil
	}
}

const hostileHead = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

// rawPeer is the attacker's connection.
type rawPeer struct {
	nc net.Conn
	br *bufio.Reader
}

// rawUpgrade sends head plus extra header lines and reads the response.
func rawUpgrade(t *testing.T, addr, extra string) (*rawPeer, *http.Response) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, hostileHead+extra+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the handshake response: %v", err)
	}
	return &rawPeer{nc: nc, br: br}, resp
}

func dialRaw(t *testing.T, addr, extra string) *rawPeer {
	t.Helper()
	p, resp := rawUpgrade(t, addr, extra)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return p
}

func (p *rawPeer) send(t *testing.T, b ...[]byte) {
	t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.nc.Write(bytes.Join(b, nil)); err != nil && !isReset(err) {
		t.Fatalf("attacker's write: %v", err)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe"))
}

// serverFrame is one frame the attacker read.
type serverFrame struct {
	b0      byte
	masked  bool
	payload []byte
}

// next reads one frame (payload up to 1 MiB), or returns the error.
func (p *rawPeer) next(within time.Duration) (serverFrame, error) {
	p.nc.SetReadDeadline(time.Now().Add(within))
	var h [2]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return serverFrame{}, err
	}
	f := serverFrame{b0: h[0], masked: h[1]&0x80 != 0}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(p.br, e[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(p.br, e[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	if n > 1<<20 {
		return f, fmt.Errorf("frame of %d bytes", n)
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(p.br, key[:]); err != nil {
			return f, err
		}
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(p.br, f.payload); err != nil {
		return f, err
	}
	if f.masked {
		for i := range f.payload {
			f.payload[i] ^= key[i%4]
		}
	}
	return f, nil
}

// closeCode reads frames until the server's Close frame and returns its
// code ("1002"; "1005" for an empty one), "eof" when TCP ended first, or
// "open" when nothing ended within limit. Data frames are skipped.
func (p *rawPeer) closeCode(limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for {
		f, err := p.next(time.Until(deadline))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return "open"
			}
			return "eof"
		}
		if f.b0&0x0f != wstest.OpClose {
			continue
		}
		if len(f.payload) < 2 {
			return "1005"
		}
		return strconv.Itoa(int(binary.BigEndian.Uint16(f.payload)))
	}
}

// waitEOF reads until TCP ends, for at most limit; it reports whether it
// ended.
func (p *rawPeer) waitEOF(limit time.Duration) bool {
	p.nc.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, p.br)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

func forBothServers(t *testing.T, opts *AcceptOptions, f func(t *testing.T, s *hostileServer)) {
	for _, useLoop := range []bool{false, true} {
		name := "goroutine"
		if useLoop {
			name = "loop"
		}
		t.Run(name, func(t *testing.T) {
			f(t, startHostileServer(t, useLoop, opts))
		})
	}
}

// A Close frame's payload is empty, or a code of two bytes and a reason
// (RFC 6455 §5.5.1); codes 1004-1006, 1015 and those below 1000 or from
// 5000 on may not be sent (§7.4.1, §7.4.2). A Close frame breaking either
// rule is a protocol error: 1002.
func TestHostileCloseFrames(t *testing.T) {
	bad := map[string][]byte{
		"one byte":   {0x03},
		"code 0":     closePayload(0, ""),
		"code 999":   closePayload(999, ""),
		"code 1004":  closePayload(1004, ""),
		"code 1005":  closePayload(1005, ""),
		"code 1006":  closePayload(1006, ""),
		"code 1015":  closePayload(1015, ""),
		"code 1016":  closePayload(1016, ""),
		"code 2999":  closePayload(2999, ""),
		"code 5000":  closePayload(5000, ""),
		"code 65535": closePayload(65535, ""),
	}
	good := map[string]uint16{"1000": 1000, "1001": 1001, "1011": 1011, "1014": 1014, "3000": 3000, "4999": 4999}
	forBothServers(t, &AcceptOptions{Options: Options{CloseTimeout: time.Second}}, func(t *testing.T, s *hostileServer) {
		for name, payload := range bad {
			p := dialRaw(t, s.addr(), "")
			p.send(t, wstest.Client(wstest.OpClose, payload))
			if got := p.closeCode(3 * time.Second); got != "1002" {
				t.Errorf("close frame with %s: server answered %s, want 1002", name, got)
			}
			if got := CloseStatus(s.serverErr(t, 3*time.Second)); got != CloseProtocolError {
				t.Errorf("close frame with %s: the server's connection ended with %v, want 1002", name, got)
			}
		}
		for name, code := range good {
			p := dialRaw(t, s.addr(), "")
			p.send(t, wstest.Client(wstest.OpClose, closePayload(code, "bye")))
			if got := p.closeCode(3 * time.Second); got != name {
				t.Errorf("close frame with code %s: server answered %s, want its echo", name, got)
			}
			if got := CloseStatus(s.serverErr(t, 3*time.Second)); got != CloseCode(code) {
				t.Errorf("close frame with code %s: the server's connection ended with %v", name, got)
			}
		}
	})
}

// After its Close frame a peer may send nothing more (RFC 6455 §5.5.1);
// one that keeps sending data gets no message delivered, the server
// answers the Close and ends TCP.
func TestHostileSendsAfterClose(t *testing.T) {
	forBothServers(t, &AcceptOptions{Options: Options{CloseTimeout: time.Second}}, func(t *testing.T, s *hostileServer) {
		p := dialRaw(t, s.addr(), "")
		msg := wstest.Client(wstest.OpText, []byte("after close"))
		var flood []byte
		for range 2000 {
			flood = append(flood, msg...)
		}
		p.send(t, wstest.Client(wstest.OpClose, closePayload(1000, "")), flood)
		// Nothing but the Close reply, then the end of TCP.
		var frames []byte
		for {
			f, err := p.next(5 * time.Second)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("the server did not end TCP within 5 s after the peer's Close")
				}
				break
			}
			frames = append(frames, f.b0&0x0f)
		}
		if !bytes.Equal(frames, []byte{wstest.OpClose}) {
			t.Errorf("server sent opcodes %x after the peer's Close, want only the Close reply", frames)
		}
		err := s.serverErr(t, 3*time.Second)
		if CloseStatus(err) != CloseNormal {
			t.Errorf("server's connection ended with %v, want 1000", err)
		}
	})
}

// Fragments may be empty: a message of 5,000 empty continuation frames
// is valid and arrives whole; control frames between its fragments are
// answered and do not disturb it (RFC 6455 §5.4).
func TestHostileEmptyFragments(t *testing.T) {
	forBothServers(t, nil, func(t *testing.T, s *hostileServer) {
		p := dialRaw(t, s.addr(), "")
		var b []byte
		b = wstest.AppendFrame(b, wstest.OpText, true, wstest.Key, []byte("he"), 0)
		for i := range 5000 {
			b = wstest.AppendFrame(b, wstest.OpContinuation, true, wstest.Key, nil, 0)
			if i%10 == 0 {
				b = wstest.AppendFrame(b, wstest.FIN|wstest.OpPing, true, wstest.Key, []byte("p"), 0)
			}
		}
		b = wstest.AppendFrame(b, wstest.FIN|wstest.OpContinuation, true, wstest.Key, []byte("llo"), 0)
		p.send(t, b)
		pongs := 0
		for {
			f, err := p.next(5 * time.Second)
			if err != nil {
				t.Fatalf("after %d pongs: %v", pongs, err)
			}
			if f.b0&0x0f == wstest.OpPong {
				pongs++
				continue
			}
			if f.b0 != wstest.FIN|wstest.OpText || string(f.payload) != "hello" {
				t.Fatalf("got frame %x %q, want the echo of \"hello\"", f.b0, f.payload)
			}
			break
		}
		if pongs == 0 {
			t.Error("no Pong answered the 500 Pings")
		}
	})
}

// A four-byte character split over three fragments is valid UTF-8: it
// arrives (no false 1007), and one split that ends the message cut is
// invalid (1007).
func TestHostileUTF8AcrossFragments(t *testing.T) {
	forBothServers(t, nil, func(t *testing.T, s *hostileServer) {
		const char = "\xf0\x9f\x98\x80" // U+1F600
		p := dialRaw(t, s.addr(), "")
		p.send(t,
			wstest.AppendFrame(nil, wstest.OpText, true, wstest.Key, []byte("a"+char[:1]), 0),
			wstest.AppendFrame(nil, wstest.OpContinuation, true, wstest.Key, []byte(char[1:2]), 0),
			wstest.AppendFrame(nil, wstest.OpContinuation, true, wstest.Key, nil, 0),
			wstest.AppendFrame(nil, wstest.FIN|wstest.OpContinuation, true, wstest.Key, []byte(char[2:]+"z"), 0))
		f, err := p.next(5 * time.Second)
		if err != nil || string(f.payload) != "a"+char+"z" {
			t.Fatalf("split character: got %q, %v", f.payload, err)
		}
		p.send(t,
			wstest.AppendFrame(nil, wstest.OpText, true, wstest.Key, []byte("a"+char[:2]), 0),
			wstest.AppendFrame(nil, wstest.FIN|wstest.OpContinuation, true, wstest.Key, []byte(char[2:3]), 0))
		if got := p.closeCode(3 * time.Second); got != "1007" {
			t.Errorf("message ending inside a character: server answered %s, want 1007", got)
		}
	})
}

// Framing errors around fragmentation (RFC 6455 §5.4, §5.5): each gets
// 1002.
func TestHostileFragmentationErrors(t *testing.T) {
	cases := map[string][]byte{
		"continuation without a start": wstest.Client(wstest.OpContinuation, []byte("x")),
		"data frame inside a message": append(wstest.AppendFrame(nil, wstest.OpText, true, wstest.Key, []byte("a"), 0),
			wstest.Client(wstest.OpText, []byte("b"))...),
		"fragmented ping":         wstest.AppendFrame(nil, wstest.OpPing, true, wstest.Key, []byte("p"), 0),
		"ping of 126 bytes":       wstest.Client(wstest.OpPing, make([]byte, 126)),
		"close of 126 bytes":      wstest.Client(wstest.OpClose, append(closePayload(1000, ""), make([]byte, 124)...)),
		"ping with 16-bit length": wstest.AppendFrame(nil, wstest.FIN|wstest.OpPing, true, wstest.Key, []byte("p"), 2),
		"RSV3":                    wstest.Frame(wstest.FIN|wstest.RSV3|wstest.OpBinary, true, wstest.Key, []byte("x")),
		"64-bit length with the top bit": append([]byte{wstest.FIN | wstest.OpBinary, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1},
			wstest.Key[:]...),
	}
	forBothServers(t, nil, func(t *testing.T, s *hostileServer) {
		for name, b := range cases {
			p := dialRaw(t, s.addr(), "")
			p.send(t, b)
			if got := p.closeCode(3 * time.Second); got != "1002" {
				t.Errorf("%s: server answered %s, want 1002", name, got)
			}
			s.serverErr(t, 3*time.Second)
		}
	})
}

// deflateRaw compresses p for permessage-deflate (RFC 7692 §7.2.1).
func deflateRaw(p []byte) []byte {
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	fw.Write(p)
	fw.Flush()
	return bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// Compression attacks on a server that negotiated permessage-deflate.
func TestHostileCompressed(t *testing.T) {
	opts := &AcceptOptions{Options: Options{Compression: true, MaxMessageSize: 1 << 20}}
	forBothServers(t, opts, func(t *testing.T, s *hostileServer) {
		const ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
		// A compressed message in 2,000 fragments of a few bytes each,
		// inflating to 64 MiB of zeros: 1009 at the 1 MiB limit.
		z := deflateRaw(make([]byte, 64<<20))
		p := dialRaw(t, s.addr(), ext)
		var b []byte
		for i := 0; i < len(z); i += 32 {
			j := min(i+32, len(z))
			b0 := wstest.OpContinuation
			if i == 0 {
				b0 = wstest.RSV1 | wstest.OpBinary
			}
			if j == len(z) {
				b0 |= wstest.FIN
			}
			b = wstest.AppendFrame(b, b0, true, wstest.Key, z[i:j], 0)
		}
		p.send(t, b)
		if got := p.closeCode(5 * time.Second); got != "1009" {
			t.Errorf("fragmented bomb: server answered %s, want 1009", got)
		}
		s.serverErr(t, 3*time.Second)

		// RSV1 on a continuation frame and on a control frame: 1002
		// (RFC 7692 §6.1).
		for name, b := range map[string][]byte{
			"RSV1 on a continuation": append(wstest.AppendFrame(nil, wstest.RSV1|wstest.OpText, true, wstest.Key, deflateRaw([]byte("ab")), 0),
				wstest.Frame(wstest.FIN|wstest.RSV1|wstest.OpContinuation, true, wstest.Key, nil)...),
			"RSV1 on a ping": wstest.Frame(wstest.FIN|wstest.RSV1|wstest.OpPing, true, wstest.Key, nil),
		} {
			p := dialRaw(t, s.addr(), ext)
			p.send(t, b)
			if got := p.closeCode(3 * time.Second); got != "1002" {
				t.Errorf("%s: server answered %s, want 1002", name, got)
			}
			s.serverErr(t, 3*time.Second)
		}

		// Data that is not DEFLATE (a reserved block type) fails the
		// connection with a Close code, never a panic or a hang.
		for name, z := range map[string][]byte{
			"reserved block type": {0x07, 0x00},
			"bad stored length":   {0x00, 0x05, 0x00, 0x00, 0x00},
			"distance too far":    {0x4b, 0x04, 0x02, 0x30, 0x00},
		} {
			p := dialRaw(t, s.addr(), ext)
			p.send(t, wstest.Frame(wstest.FIN|wstest.RSV1|wstest.OpBinary, true, wstest.Key, z))
			got := p.closeCode(3 * time.Second)
			if got == "open" || got == "eof" || got == "1000" {
				t.Errorf("%s: server answered %s, want a close code for bad compressed data", name, got)
			}
			t.Logf("%s: %s", name, got)
			s.serverErr(t, 3*time.Second)
		}
		// A valid compressed message still echoes after all that.
		p = dialRaw(t, s.addr(), ext)
		p.send(t, wstest.Frame(wstest.FIN|wstest.RSV1|wstest.OpText, true, wstest.Key, deflateRaw([]byte("hello hello hello"))))
		f, err := p.next(3 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if f.b0&wstest.RSV1 == 0 && string(f.payload) != "hello hello hello" {
			t.Errorf("echo: %x %q", f.b0, f.payload)
		}
	})
}

// Offers of permessage-deflate with parameters RFC 7692 §7 does not allow
// are declined (101 without the extension) or refused with 400, never
// accepted as sent, never a crash.
func TestHostileDeflateOffers(t *testing.T) {
	offers := []string{
		"permessage-deflate; server_max_window_bits=7",
		"permessage-deflate; server_max_window_bits=16",
		"permessage-deflate; server_max_window_bits=08",
		"permessage-deflate; server_max_window_bits",
		"permessage-deflate; client_max_window_bits=7",
		"permessage-deflate; client_max_window_bits=abc",
		"permessage-deflate; client_max_window_bits=",
		"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
		"permessage-deflate; client_max_window_bits; client_max_window_bits=10",
		"permessage-deflate; server_no_context_takeover=1",
		"permessage-deflate; unknown_param",
		"permessage-deflate; x=\"unterminated",
		"permessage-deflate;;",
		"permessage-deflate; server_max_window_bits=99999999999999999999",
		"permessage-deflate, permessage-deflate; server_max_window_bits=3",
		",,,,",
	}
	forBothServers(t, &AcceptOptions{Options: Options{Compression: true}}, func(t *testing.T, s *hostileServer) {
		for _, offer := range offers {
			p, resp := rawUpgrade(t, s.addr(), "Sec-WebSocket-Extensions: "+offer+"\r\n")
			got := resp.Header.Get("Sec-WebSocket-Extensions")
			switch resp.StatusCode {
			case http.StatusSwitchingProtocols:
				if got != "" && !acceptableDeflateAnswer(offer, got) {
					t.Errorf("offer %q: server accepted with %q", offer, got)
				}
				p.nc.Close()
				s.serverErr(t, 3*time.Second)
			case http.StatusBadRequest:
				s.serverErr(t, 3*time.Second)
			default:
				t.Errorf("offer %q: %s", offer, resp.Status)
			}
			t.Logf("offer %q: %d %q", offer, resp.StatusCode, got)
		}
	})
}

// acceptableDeflateAnswer: the offers above whose later alternative is
// valid may be accepted through it.
func acceptableDeflateAnswer(offer, answer string) bool {
	return strings.HasPrefix(offer, "permessage-deflate, ") && answer == "permessage-deflate"
}

// A parameter value may be a quoted string whose content is a token (RFC
// 6455 §9.1): server_max_window_bits="9" is server_max_window_bits=9.
func TestHostileDeflateQuotedValue(t *testing.T) {
	s := startHostileServer(t, false, &AcceptOptions{Options: Options{Compression: true}})
	_, resp := rawUpgrade(t, s.addr(), "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"9\"\r\n")
	if got := resp.Header.Get("Sec-WebSocket-Extensions"); resp.StatusCode != 101 || got != "permessage-deflate; server_max_window_bits=9" {
		t.Errorf("quoted value: %s %q", resp.Status, got)
	}
}

// A peer that ends its side of TCP (FIN) in the middle of a frame ends the
// connection as abnormal (1006, io.ErrUnexpectedEOF); one that sends its
// Close and then FIN still gets the Close reply (it may be reading).
func TestHostileHalfClose(t *testing.T) {
	forBothServers(t, &AcceptOptions{Options: Options{CloseTimeout: time.Second}}, func(t *testing.T, s *hostileServer) {
		p := dialRaw(t, s.addr(), "")
		b := wstest.Client(wstest.OpBinary, make([]byte, 1000))
		p.send(t, b[:500])
		p.nc.(*net.TCPConn).CloseWrite()
		err := s.serverErr(t, 3*time.Second)
		if CloseStatus(err) != CloseAbnormal || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("FIN mid-frame: server's connection ended with %v, want 1006 and io.ErrUnexpectedEOF", err)
		}
		if !p.waitEOF(3 * time.Second) {
			t.Error("the server did not end TCP after the peer's FIN mid-frame")
		}

		p = dialRaw(t, s.addr(), "")
		p.send(t, wstest.Client(wstest.OpText, []byte("last")), wstest.Client(wstest.OpClose, closePayload(1000, "bye")))
		p.nc.(*net.TCPConn).CloseWrite()
		f, err := p.next(3 * time.Second)
		if err != nil || string(f.payload) != "last" {
			t.Fatalf("echo before the Close: %q, %v", f.payload, err)
		}
		if got := p.closeCode(3 * time.Second); got != "1000" {
			t.Errorf("Close then FIN: server answered %s, want its Close reply 1000", got)
		}
		if err := s.serverErr(t, 3*time.Second); CloseStatus(err) != CloseNormal {
			t.Errorf("Close then FIN: server's connection ended with %v", err)
		}
	})
}

// The opening handshake's refusals on both server paths, Upgrade (raw) and
// Accept (net/http): the status RFC 6455 §4.2.1-4.2.2 names, and 426 with
// Sec-WebSocket-Version: 13 for a version it does not speak.
func TestHostileHandshakeRefusals(t *testing.T) {
	const (
		base = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		key  = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		v13  = "Sec-WebSocket-Version: 13\r\n"
	)
	cases := []struct {
		name, head string
		want       int
		rawOnly    bool // net/http answers it before Accept runs
	}{
		{"key of 15 bytes", base + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n" + v13, 400, false},
		{"key of 17 bytes", base + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n" + v13, 400, false},
		{"key not base64", base + "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n" + v13, 400, false},
		{"key missing", base + v13, 400, false},
		{"two keys", base + key + key + v13, 400, false},
		{"version 8", base + key + "Sec-WebSocket-Version: 8\r\n", 426, false},
		{"version missing", base + key, 426, false},
		{"version 13 and 8", base + key + "Sec-WebSocket-Version: 13, 8\r\n", 426, false},
		{"POST", "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + v13, 405, false},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + v13, 400, false},
		{"no Upgrade", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n" + key + v13, 400, false},
		{"no Host", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + v13, 400, true},
		{"500 header lines", base + key + v13 + strings.Repeat("X-A: b\r\n", 500), 431, true},
		{"header line of 16 KiB", base + key + v13 + "X-A: " + strings.Repeat("b", 16<<10) + "\r\n", 431, true},
	}
	check := func(t *testing.T, addr, head string, want int) {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		go io.WriteString(nc, head+"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		if resp.StatusCode != want {
			t.Errorf("status %s, want %d", resp.Status, want)
		}
		if want == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
			t.Errorf("426 without Sec-WebSocket-Version: 13 (%v)", resp.Header)
		}
	}
	s := startHostileServer(t, false, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := Accept(w, r, nil); err == nil {
			c.CloseNow()
		}
	}))
	defer hs.Close()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("Upgrade", func(t *testing.T) {
				check(t, s.addr(), tc.head, tc.want)
				if err := s.serverErr(t, 3*time.Second); err == nil {
					t.Error("Upgrade returned no error")
				}
			})
			if !tc.rawOnly {
				t.Run("Accept", func(t *testing.T) { check(t, hs.Listener.Addr().String(), tc.head, tc.want) })
			}
		})
	}
}

// The message size limit is exact: a message of MaxMessageSize bytes
// arrives (whole, in fragments, or inflated from a compressed message)
// and one byte more is 1009 (RFC 6455 §7.4.1).
func TestHostileLimitBoundary(t *testing.T) {
	const limit = 64 << 10
	opts := &AcceptOptions{Options: Options{MaxMessageSize: limit, Compression: true}}
	const ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	whole := func(n int) []byte { return wstest.Client(wstest.OpBinary, bytes.Repeat([]byte("a"), n)) }
	fragments := func(n int) []byte {
		var b []byte
		p := bytes.Repeat([]byte("b"), n)
		for i := 0; i < n; i += 1000 {
			b0 := wstest.OpContinuation
			if i == 0 {
				b0 = wstest.OpBinary
			}
			j := min(i+1000, n)
			if j == n {
				b0 |= wstest.FIN
			}
			b = wstest.AppendFrame(b, b0, true, wstest.Key, p[i:j], 0)
		}
		return b
	}
	compressed := func(n int) []byte {
		return wstest.Frame(wstest.FIN|wstest.RSV1|wstest.OpBinary, true, wstest.Key, deflateRaw(bytes.Repeat([]byte("c"), n)))
	}
	forBothServers(t, opts, func(t *testing.T, s *hostileServer) {
		for name, mk := range map[string]func(int) []byte{"whole": whole, "fragments": fragments, "compressed": compressed} {
			p := dialRaw(t, s.addr(), ext)
			p.send(t, mk(limit))
			f, err := p.next(5 * time.Second)
			if err != nil || f.b0&0x0f != wstest.OpBinary {
				t.Errorf("%s message of exactly the limit: %x, %v", name, f.b0, err)
				continue
			}
			p.send(t, mk(limit+1))
			if got := p.closeCode(5 * time.Second); got != "1009" {
				t.Errorf("%s message of the limit + 1: server answered %s, want 1009", name, got)
			}
			s.serverErr(t, 3*time.Second)
		}
	})
}

// Control frames at their size limit (125 bytes, RFC 6455 §5.5): a Ping
// gets a Pong with the same 125 bytes, a Close with a 123-byte reason is
// echoed.
func TestHostileControlBoundary(t *testing.T) {
	forBothServers(t, nil, func(t *testing.T, s *hostileServer) {
		p := dialRaw(t, s.addr(), "")
		payload := bytes.Repeat([]byte("z"), 125)
		p.send(t, wstest.Client(wstest.OpPing, payload))
		f, err := p.next(3 * time.Second)
		if err != nil || f.b0 != wstest.FIN|wstest.OpPong || !bytes.Equal(f.payload, payload) {
			t.Fatalf("Pong: %x %q, %v", f.b0, f.payload, err)
		}
		reason := strings.Repeat("r", 123)
		p.send(t, wstest.Client(wstest.OpClose, closePayload(4000, reason)))
		f, err = p.next(3 * time.Second)
		if err != nil || f.b0 != wstest.FIN|wstest.OpClose || len(f.payload) < 2 || binary.BigEndian.Uint16(f.payload) != 4000 {
			t.Fatalf("Close reply: %x %q, %v", f.b0, f.payload, err)
		}
		err = s.serverErr(t, 3*time.Second)
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != reason {
			t.Errorf("server's connection ended with %v", err)
		}
	})
}

// A client that negotiated a small window (client_max_window_bits=8 or 9)
// and then compresses with a 32 KiB one sends data the server may not be
// able to inflate: within one message, and, with context takeover, back
// into the previous message. Either the messages arrive exactly as sent
// (a lenient reader) or the connection fails with a close code; never a
// panic, never other bytes delivered as the message.
func TestHostileDeflateWindowLies(t *testing.T) {
	rnd := make([]byte, 4000)
	for i := range rnd {
		rnd[i] = byte(i*7919 + i/13)
	}
	far := append(append([]byte(nil), rnd...), rnd...) // the second copy refers back 4,000 bytes
	// Two messages compressed as one stream (context takeover): the
	// second is rnd again, all of it a reference into the first.
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	fw.Write(far)
	fw.Flush()
	m1 := bytes.TrimSuffix(bytes.Clone(z.Bytes()), []byte{0, 0, 0xff, 0xff})
	z.Reset()
	fw.Write(rnd)
	fw.Flush()
	m2 := bytes.TrimSuffix(bytes.Clone(z.Bytes()), []byte{0, 0, 0xff, 0xff})
	opts := &AcceptOptions{Options: Options{Compression: true, CompressionThreshold: 1 << 20}} // echoes uncompressed
	forBothServers(t, opts, func(t *testing.T, s *hostileServer) {
		for _, bits := range []string{"8", "9"} {
			p, resp := rawUpgrade(t, s.addr(), "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits="+bits+"\r\n")
			t.Logf("window bits %s: %s %q", bits, resp.Status, resp.Header.Get("Sec-WebSocket-Extensions"))
			if resp.Header.Get("Sec-WebSocket-Extensions") == "" {
				continue
			}
			p.send(t, wstest.Frame(wstest.FIN|wstest.RSV1|wstest.OpBinary, true, wstest.Key, m1),
				wstest.Frame(wstest.FIN|wstest.RSV1|wstest.OpBinary, true, wstest.Key, m2))
			for k, want := range [][]byte{far, rnd} {
				f, err := p.next(3 * time.Second)
				if err != nil {
					t.Fatalf("window bits %s, message %d: %v", bits, k+1, err)
				}
				if f.b0&0x0f == wstest.OpClose {
					t.Logf("window bits %s, message %d: closed with %x", bits, k+1, f.payload[:2])
					s.serverErr(t, 3*time.Second)
					break
				}
				if f.b0&wstest.RSV1 != 0 || !bytes.Equal(f.payload, want) {
					t.Errorf("window bits %s, message %d: echo of %d bytes (%x) differs from the %d sent", bits, k+1, len(f.payload), f.b0, len(want))
				}
			}
		}
	})
}
