package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Default limits of the request (server) and response (client) head.
const (
	DefaultMaxHeadBytes = 8 << 10 // 8 KiB: start line, fields and the empty line
	DefaultMaxHeaders   = 64      // header field lines
)

// readHead reads one HTTP head (start line, header fields, empty line) from
// br and returns it, at most limit bytes. When the head fits in br's buffer
// (the usual case) the returned slice aliases that buffer: no copy, valid
// until the next read from br. Otherwise it is copied into a new slice.
// Bytes after the head stay in br. A head longer than limit returns errTooLarge.
// An I/O error is returned unchanged, except that EOF after some bytes
// becomes io.ErrUnexpectedEOF.
func readHead(br *bufio.Reader, limit int, errTooLarge error) ([]byte, error) {
	size := br.Size()
	n := br.Buffered()
	if n == 0 {
		n = 1
	}
	scanned := 0
	for {
		b, err := br.Peek(min(max(n, br.Buffered()), limit, size))
		if end := headEnd(b, scanned); end > 0 {
			_, _ = br.Discard(end) // cannot fail: the bytes are buffered
			return b[:end], nil
		}
		scanned = max(len(b)-2, 0)
		if err != nil {
			return nil, eofErr(err, len(b))
		}
		if len(b) >= limit {
			return nil, errTooLarge
		}
		if len(b) == size {
			break // the buffer is full but the limit allows more: copy
		}
		n = len(b) + 1
	}
	// Slow path: the head is longer than br's buffer.
	b, _ := br.Peek(size)
	buf := make([]byte, 0, min(limit, 2*size))
	for {
		base := len(buf)
		buf = append(buf, b[:min(len(b), limit-base)]...)
		if end := headEnd(buf, scanned); end > 0 {
			_, _ = br.Discard(end - base)
			return buf[:end], nil
		}
		_, _ = br.Discard(len(buf) - base)
		scanned = max(len(buf)-2, 0)
		if len(buf) >= limit {
			return nil, errTooLarge
		}
		var err error
		if _, err = br.Peek(1); err != nil {
			return nil, eofErr(err, len(buf))
		}
		b, _ = br.Peek(br.Buffered())
	}
}

func eofErr(err error, n int) error {
	if errors.Is(err, io.EOF) && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

// headEnd returns the length of the head in b (through the empty line that
// ends it), or 0 if b holds no complete head. Lines end in CRLF; a bare LF is
// accepted too (RFC 7230 §3.5). The search starts at from.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return 0
}

// nextLine splits the first line off head, without its CRLF or LF.
func nextLine(head []byte) (line, rest []byte) {
	i := bytes.IndexByte(head, '\n')
	if i < 0 {
		return head, nil
	}
	line = head[:i]
	if i > 0 && line[i-1] == '\r' {
		line = line[:i-1]
	}
	return line, head[i+1:]
}

// parseField splits a header field line "name: value" (RFC 7230 §3.2). It
// reports false for obsolete line folding (RFC 7230 §3.2.4: a server MUST
// reject it with 400 or unfold it; we reject), whitespace before the colon (a
// server MUST reject it with 400), a name that is not a token and control
// characters in the value.
func parseField(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return nil, nil, false
	}
	value = trimOWS(line[colon+1:])
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return nil, nil, false
		}
	}
	return line[:colon], value, true
}

// parseHTTPVersion parses "HTTP/x.y".
func parseHTTPVersion(v []byte) (major, minor int, ok bool) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}
