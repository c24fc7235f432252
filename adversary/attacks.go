package adversary

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// rawConn is the attacker's side: a TCP connection it writes arbitrary
// bytes to.
type rawConn struct {
	nc net.Conn
	br *bufio.Reader
}

const upgradeHead = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

// dial connects and completes the opening handshake, offering
// permessage-deflate when compress is set.
func dial(addr string, compress bool) (*rawConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	head := upgradeHead
	if compress {
		head += "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, head+"\r\n"); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	nc.SetDeadline(time.Time{})
	return &rawConn{nc: nc, br: br}, nil
}

// frame returns a masked client frame.
func clientFrame(op frame.Opcode, flags frame.Flags, payload []byte) []byte {
	return frame.AppendFrame(nil, frame.NewHeader(op, flags|frame.Mask, mask.Key{0x11, 0x22, 0x33, 0x44}, 0), payload)
}

func (r *rawConn) write(b []byte) error {
	r.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := r.nc.Write(b)
	return err
}

// awaitClose reads what the server sends, answering nothing, until its
// Close frame or the end of the stream, for at most limit. It returns the
// close code ("1009"), "eof" when TCP ended without a Close frame, or
// "open" when nothing ended within limit.
func (r *rawConn) awaitClose(limit time.Duration) (string, time.Duration) {
	start := time.Now()
	r.nc.SetReadDeadline(start.Add(limit))
	fr := frame.NewReader(r.br)
	for {
		h, err := fr.ReadHeader()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return "open", time.Since(start)
			}
			return "eof", time.Since(start)
		}
		if h.Opcode != frame.OpClose {
			if _, err := io.CopyN(io.Discard, r.br, h.Length); err != nil {
				return "eof", time.Since(start)
			}
			continue
		}
		p := make([]byte, min(h.Length, 125))
		io.ReadFull(r.br, p)
		code, _, err := frame.ParseClose(p)
		if err != nil {
			return "bad close frame", time.Since(start)
		}
		return strconv.Itoa(int(code)), time.Since(start)
	}
}

// An attack runs against the server at addr and reports what each of its
// connections saw.
type attack struct {
	name     string
	conns    int           // connections it opens (for the goroutine bound)
	want     string        // what the attacker must see: a close code, "431", "eof", "open", alternatives joined by "|", or "any"
	within   time.Duration // the server must have answered within this
	deflate  int           // 1: only against servers with compression, -1: only without
	rssBound int64         // extra resident memory allowed, bytes
	run      func(addr string) ([]string, time.Duration, error)
}

// single runs one connection: handshake, send, await the close.
func single(compress bool, send func(r *rawConn) error, wait time.Duration) func(string) ([]string, time.Duration, error) {
	return func(addr string) ([]string, time.Duration, error) {
		r, err := dial(addr, compress)
		if err != nil {
			return nil, 0, err
		}
		defer r.nc.Close()
		if err := send(r); err != nil && !isReset(err) {
			return nil, 0, err
		}
		seen, after := r.awaitClose(wait)
		return []string{seen}, after, nil
	}
}

// many runs n connections of single at once.
func many(n int, one func(string) ([]string, time.Duration, error)) func(string) ([]string, time.Duration, error) {
	return func(addr string) ([]string, time.Duration, error) {
		var mu sync.Mutex
		var seen []string
		var worst time.Duration
		var firstErr error
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, d, err := one(addr)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				seen = append(seen, s...)
				worst = max(worst, d)
			}()
		}
		wg.Wait()
		return seen, worst, firstErr
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe"))
}

// bomb is a compressed payload that inflates to n bytes of zeros.
func bomb(n int) []byte {
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	zeros := make([]byte, 1<<20)
	for range n / len(zeros) {
		fw.Write(zeros)
	}
	fw.Flush()
	return bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// attacks is the catalogue; short scales the floods down for CI.
func attacks(short bool) []attack {
	scale := 1
	if short {
		scale = 5
	}
	hugeLen := func(r *rawConn) error {
		// A header announcing 2^63-1 bytes, then a few of them.
		h := frame.NewHeader(frame.OpBinary, frame.Mask, mask.Key{1, 2, 3, 4}, 1<<63-1)
		return r.write(append(frame.AppendHeader(nil, h), 1, 2, 3))
	}
	overLimit := func(r *rawConn) error {
		h := frame.NewHeader(frame.OpBinary, frame.Mask, mask.Key{1, 2, 3, 4}, 2*maxMessage)
		return r.write(frame.AppendHeader(nil, h))
	}
	fragFlood := func(r *rawConn) error {
		// 100-byte fragments of one message, far past the 1 MiB limit.
		var b []byte
		b = append(b, clientFrame(frame.OpBinary, frame.More, make([]byte, 100))...)
		piece := clientFrame(frame.OpContinuation, frame.More, make([]byte, 100))
		for range 200 {
			b = append(b, piece...)
		}
		for range 60 {
			if err := r.write(b); err != nil {
				return err
			}
			b = b[:0]
			for range 201 {
				b = append(b, piece...)
			}
		}
		return nil
	}
	pingFlood := func(r *rawConn) error {
		ping := clientFrame(frame.OpPing, 0, bytes.Repeat([]byte{'p'}, 125))
		for range 20000 / scale {
			if err := r.write(ping); err != nil {
				return err // throttled by TCP: the server stopped reading a peer that does not read
			}
		}
		return nil
	}
	neverRead := func(r *rawConn) error {
		msg := clientFrame(frame.OpBinary, 0, make([]byte, 512<<10))
		for range 40 / scale {
			if err := r.write(msg); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					return nil // the server stopped reading us: TCP pushes back
				}
				return err
			}
		}
		return nil
	}
	text := func(frames ...[]byte) func(r *rawConn) error {
		return func(r *rawConn) error { return r.write(bytes.Join(frames, nil)) }
	}
	compressed := func(n int) func(r *rawConn) error {
		b := bomb(n)
		return func(r *rawConn) error { return r.write(clientFrame(frame.OpBinary, frame.Compressed, b)) }
	}
	slowHandshake := func(addr string) ([]string, time.Duration, error) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, 0, err
		}
		defer nc.Close()
		start := time.Now()
		for i := 0; i < len(upgradeHead); i++ {
			if _, err := nc.Write([]byte{upgradeHead[i]}); err != nil {
				return []string{"eof"}, time.Since(start), nil
			}
			time.Sleep(200 * time.Millisecond)
			if time.Since(start) > 3*handshakeTimeout {
				return []string{"open"}, time.Since(start), nil
			}
		}
		return []string{"open"}, time.Since(start), nil
	}
	silent := func(addr string) ([]string, time.Duration, error) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, 0, err
		}
		defer nc.Close()
		start := time.Now()
		nc.SetReadDeadline(start.Add(3 * handshakeTimeout))
		if _, err := nc.Read(make([]byte, 1)); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return []string{"open"}, time.Since(start), nil
			}
		}
		return []string{"eof"}, time.Since(start), nil
	}
	bigHeader := func(addr string) ([]string, time.Duration, error) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, 0, err
		}
		defer nc.Close()
		start := time.Now()
		nc.SetDeadline(start.Add(5 * time.Second))
		go io.WriteString(nc, upgradeHead+"X-Junk: "+strings.Repeat("j", 20<<10)+"\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil {
			return []string{"eof"}, time.Since(start), nil
		}
		return []string{strconv.Itoa(resp.StatusCode)}, time.Since(start), nil
	}
	resetMidFrame := func(addr string) ([]string, time.Duration, error) {
		r, err := dial(addr, false)
		if err != nil {
			return nil, 0, err
		}
		b := clientFrame(frame.OpBinary, 0, make([]byte, 64<<10))
		r.write(b[:len(b)/2])
		r.nc.(*net.TCPConn).SetLinger(0) // RST instead of FIN
		r.nc.Close()
		return []string{"reset"}, 0, nil
	}
	halfOpen := func(r *rawConn) error { return nil } // then silence: no pongs, nothing
	closeWith := func(payload []byte) func(r *rawConn) error {
		return text(clientFrame(frame.OpClose, 0, payload))
	}
	afterClose := func(r *rawConn) error {
		// A Close, then 1,000 data messages the server must drop.
		b := clientFrame(frame.OpClose, 0, []byte{0x03, 0xe8})
		msg := clientFrame(frame.OpText, 0, []byte("after close"))
		for range 1000 {
			b = append(b, msg...)
		}
		return r.write(b)
	}
	emptyFragments := func(r *rawConn) error {
		// One message of 20,000 empty fragments with a Ping after every
		// tenth, then a Close: everything must be processed and answered.
		b := clientFrame(frame.OpText, frame.More, []byte("a"))
		empty := clientFrame(frame.OpContinuation, frame.More, nil)
		ping := clientFrame(frame.OpPing, 0, []byte("p"))
		for i := range 20000 {
			b = append(b, empty...)
			if i%10 == 0 {
				b = append(b, ping...)
			}
		}
		b = append(b, clientFrame(frame.OpContinuation, 0, []byte("z"))...)
		b = append(b, clientFrame(frame.OpClose, 0, []byte{0x03, 0xe8})...)
		return r.write(b)
	}
	fragmentedBomb := func(r *rawConn) error {
		// A compressed message inflating to 64 MiB, in 32-byte fragments.
		z := bomb(64 << 20)
		var b []byte
		for i := 0; i < len(z); i += 32 {
			j := min(i+32, len(z))
			op, flags := frame.OpContinuation, frame.More
			if i == 0 {
				op, flags = frame.OpBinary, frame.More|frame.Compressed
			}
			if j == len(z) {
				flags &^= frame.More
			}
			b = append(b, clientFrame(op, flags, z[i:j])...)
		}
		return r.write(b)
	}
	finMidFrame := func(addr string) ([]string, time.Duration, error) {
		r, err := dial(addr, false)
		if err != nil {
			return nil, 0, err
		}
		defer r.nc.Close()
		b := clientFrame(frame.OpBinary, 0, make([]byte, 64<<10))
		r.write(b[:len(b)/2])
		r.nc.(*net.TCPConn).CloseWrite() // FIN, still reading
		seen, after := r.awaitClose(5 * time.Second)
		return []string{seen}, after, nil
	}
	announcedTrickle := func(addr string) ([]string, time.Duration, error) {
		// 40 connections announce a frame of the message limit and send
		// its payload in pieces of 100 bytes, 20 ms apart: the server
		// may hold about what it received, not the announced length.
		var rs []*rawConn
		defer func() {
			for _, r := range rs {
				r.nc.Close()
			}
		}()
		for range 40 {
			r, err := dial(addr, false)
			if err != nil {
				return nil, 0, err
			}
			rs = append(rs, r)
			h := frame.NewHeader(frame.OpBinary, frame.Mask, mask.Key{1, 2, 3, 4}, maxMessage)
			if err := r.write(frame.AppendHeader(nil, h)); err != nil {
				return nil, 0, err
			}
		}
		piece := make([]byte, 100)
		for range 10 {
			for _, r := range rs {
				if err := r.write(piece); err != nil {
					return nil, 0, err
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		var seen []string
		for _, r := range rs {
			s, _ := r.awaitClose(time.Millisecond)
			seen = append(seen, s)
		}
		return seen, 0, nil
	}
	badOffers := func(addr string) ([]string, time.Duration, error) {
		var seen []string
		start := time.Now()
		for _, offer := range []string{
			"server_max_window_bits=7", "server_max_window_bits=16", "server_max_window_bits",
			"client_max_window_bits=7", "client_max_window_bits=abc", "client_max_window_bits=",
			"server_no_context_takeover; server_no_context_takeover", "server_no_context_takeover=1",
			"unknown_param", "x=\"unterminated", ";", "server_max_window_bits=99999999999999999999",
		} {
			nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return seen, 0, err
			}
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			go io.WriteString(nc, upgradeHead+"Sec-WebSocket-Extensions: permessage-deflate; "+offer+"\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			nc.Close()
			if err != nil {
				seen = append(seen, "eof")
				continue
			}
			status := strconv.Itoa(resp.StatusCode)
			if resp.StatusCode == http.StatusSwitchingProtocols && resp.Header.Get("Sec-WebSocket-Extensions") != "" {
				status = "accepted " + strconv.Quote(offer)
			}
			seen = append(seen, status)
		}
		return seen, time.Since(start), nil
	}

	s := time.Second
	return []attack{
		{name: "declared length 2^63-1", conns: 1, want: "1009", within: s, run: single(false, hugeLen, 5*s)},
		{name: "declared length over the limit", conns: 1, want: "1009", within: s, run: single(false, overLimit, 5*s)},
		{name: "fragment flood past the limit", conns: 1, want: "1009", within: 2 * s, run: single(false, fragFlood, 5*s)},
		{name: "ping flood, pongs never read (20 conns)", conns: 20, want: "any", within: 15 * s, run: many(20, single(false, pingFlood, time.Millisecond))},
		{name: "never reads while the server writes (10 conns)", conns: 10, want: "1008|eof", within: 4*writeTimeout + 2*s, run: many(10, single(false, neverRead, 4*writeTimeout+2*s))},
		{name: "decompression bomb (1 GiB)", conns: 1, want: "1009", within: 5 * s, deflate: 1, rssBound: 32 << 20, run: single(true, compressed(1<<30/scale), 20*s)},
		{name: "decompression bombs, 8 at once", conns: 8, want: "1009", within: 10 * s, deflate: 1, rssBound: 64 << 20, run: many(8, single(true, compressed(256<<20/scale), 30*s))},
		{name: "RSV1 without permessage-deflate", conns: 1, want: "1002", within: s, deflate: -1, run: single(false, text(clientFrame(frame.OpBinary, frame.RSV1, []byte("x"))), 5*s)},
		{name: "invalid UTF-8 first byte", conns: 1, want: "1007", within: s, run: single(false, text(clientFrame(frame.OpText, 0, []byte("\xffabc"))), 5*s)},
		{name: "invalid UTF-8 mid-message", conns: 1, want: "1007", within: s, run: single(false, text(clientFrame(frame.OpText, 0, []byte("abc\xed\xa0\x80def"))), 5*s)},
		{name: "invalid UTF-8 truncated at the end", conns: 1, want: "1007", within: s, run: single(false, text(clientFrame(frame.OpText, 0, []byte("abc\xe2\x82"))), 5*s)},
		{name: "invalid UTF-8 across fragments", conns: 1, want: "1007", within: s, run: single(false, text(clientFrame(frame.OpText, frame.More, []byte("ab\xc3")), clientFrame(frame.OpContinuation, 0, []byte("\x28"))), 5*s)},
		{name: "invalid UTF-8 in a close reason", conns: 1, want: "1007", within: s, run: single(false, text(clientFrame(frame.OpClose, 0, []byte{0x03, 0xe8, 0xff})), 5*s)},
		{name: "reserved opcode 0x3", conns: 1, want: "1002", within: s, run: single(false, text(clientFrame(3, 0, nil)), 5*s)},
		{name: "reserved control opcode 0xB", conns: 1, want: "1002", within: s, run: single(false, text(clientFrame(0xB, 0, nil)), 5*s)},
		{name: "RSV2 set", conns: 1, want: "1002", within: s, run: single(false, text(clientFrame(frame.OpBinary, frame.RSV2, []byte("x"))), 5*s)},
		{name: "unmasked client frame", conns: 1, want: "1002", within: s, run: single(false, text(frame.AppendFrame(nil, frame.NewHeader(frame.OpText, 0, mask.Key{}, 0), []byte("hi"))), 5*s)},
		{name: "slow handshake (1 byte / 200 ms)", conns: 1, want: "eof", within: handshakeTimeout + s, run: slowHandshake},
		{name: "silent connections (20)", conns: 20, want: "eof", within: handshakeTimeout + s, run: many(20, silent)},
		{name: "oversized header (20 KiB)", conns: 1, want: "431", within: s, run: bigHeader},
		{name: "TCP reset mid-frame (20)", conns: 20, want: "reset", within: 0, run: many(20, resetMidFrame)},
		{name: "close frame of one byte", conns: 1, want: "1002", within: s, run: single(false, closeWith([]byte{0x03}), 5*s)},
		{name: "close code 1005 on the wire", conns: 1, want: "1002", within: s, run: single(false, closeWith([]byte{0x03, 0xed}), 5*s)},
		{name: "close code 5000", conns: 1, want: "1002", within: s, run: single(false, closeWith([]byte{0x13, 0x88}), 5*s)},
		{name: "1,000 messages after a Close", conns: 1, want: "1000", within: s, run: single(false, afterClose, 5*s)},
		{name: "20,000 empty fragments with Pings, then Close", conns: 1, want: "1000", within: 2 * s, run: single(false, emptyFragments, 5*s)},
		{name: "fragmented decompression bomb (64 MiB in 32 B frames)", conns: 1, want: "1009", within: 2 * s, deflate: 1, rssBound: 32 << 20, run: single(true, fragmentedBomb, 10*s)},
		{name: "FIN mid-frame", conns: 1, want: "eof", within: s, run: finMidFrame},
		{name: "announced 1 MiB, sent in 100 B pieces (40 conns)", conns: 40, want: "open", rssBound: 16 << 20, run: announcedTrickle},
		{name: "malformed permessage-deflate offers (12)", conns: 1, want: "101|400", within: 2 * s, deflate: 1, run: badOffers},
		{name: "half-open peer (silent, no pongs)", conns: 1, want: "eof", within: pingInterval + pongTimeout + 2*s, run: single(false, halfOpen, 3*(pingInterval+pongTimeout))},
	}
}
