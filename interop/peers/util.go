package peers

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// headerCapture records the Sec-WebSocket-Extensions header a library
// writes in its 101 response, for libraries that do not report it.
type headerCapture struct {
	http.ResponseWriter
	ext string
}

func (h *headerCapture) WriteHeader(code int) {
	h.ext = h.Header().Get("Sec-WebSocket-Extensions")
	h.ResponseWriter.WriteHeader(code)
}

// Hijack lets the libraries that hijack (all of them) see through the
// wrapper; the header is captured at that point, since they write the 101
// response on the hijacked connection themselves.
func (h *headerCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &respSniffer{Conn: nc, h: h}, rw, nil
}

// respSniffer finds the extensions header in the first write on a hijacked
// connection (the 101 response).
type respSniffer struct {
	net.Conn
	h    *headerCapture
	done bool
}

func (s *respSniffer) Write(p []byte) (int, error) {
	if !s.done {
		s.done = true
		s.h.ext = findHeader(p, "sec-websocket-extensions")
	}
	return s.Conn.Write(p)
}

// findHeader returns the value of the header field name (lower case) in
// the raw HTTP head p, or "".
func findHeader(p []byte, name string) string {
	line := 0
	for i := 0; i < len(p); i++ {
		if p[i] != '\n' {
			continue
		}
		l := p[line:i]
		line = i + 1
		if len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		if len(l) == 0 {
			break
		}
		if len(l) > len(name) && l[len(name)] == ':' && equalFold(l[:len(name)], name) {
			v := l[len(name)+1:]
			for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
				v = v[1:]
			}
			return string(v)
		}
	}
	return ""
}

func equalFold(b []byte, lower string) bool {
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func copyBuf(w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	return io.CopyBuffer(w, r, buf)
}
