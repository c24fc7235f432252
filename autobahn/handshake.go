package autobahn

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The opening handshake (RFC 6455 §4), written out by hand so the runner
// sends exactly the testsuite's headers and deflate offers and does not
// depend on the handshake code it judges.

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// userAgent is what the fuzzing client sends as User-Agent, and the
// fuzzing server as Server.
const userAgent = "hybi-autobahn/1.0 (native runner of the AutobahnTestSuite catalogue)"

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// headerHasToken reports whether a comma-separated header contains token
// (case-insensitively).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// clientHandshake dials u and performs the opening handshake, offering
// permessage-deflate when offers are given. It returns the negotiated
// deflate parameters (nil: none) and the Server header.
func clientHandshake(ctx context.Context, u *url.URL, offers []deflateOffer, timeout time.Duration) (net.Conn, *bufio.Reader, *pmdSession, string, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, nil, nil, "", err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	path := u.RequestURI()
	key := newNonce()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", path)
	fmt.Fprintf(&b, "User-Agent: %s\r\n", userAgent)
	fmt.Fprintf(&b, "Host: %s\r\n", host)
	b.WriteString("Upgrade: WebSocket\r\nConnection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\n", key)
	if len(offers) > 0 {
		var os []string
		for _, o := range offers {
			os = append(os, o.String())
		}
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", strings.Join(os, ", "))
	}
	b.WriteString("Sec-WebSocket-Version: 13\r\n\r\n")
	if _, err := conn.Write([]byte(b.String())); err != nil {
		conn.Close()
		return nil, nil, nil, "", err
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		conn.Close()
		return nil, nil, nil, "", fmt.Errorf("autobahn: reading handshake response: %w", err)
	}
	fail := func(format string, args ...any) (net.Conn, *bufio.Reader, *pmdSession, string, error) {
		conn.Close()
		return nil, nil, nil, "", fmt.Errorf("autobahn: handshake: "+format, args...)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fail("status %d, want 101", resp.StatusCode)
	}
	if !headerHasToken(resp.Header, "Upgrade", "websocket") {
		return fail("no Upgrade: websocket")
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		return fail("no Connection: upgrade")
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != acceptKey(key) {
		return fail("Sec-WebSocket-Accept %q, want %q", got, acceptKey(key))
	}
	exts, err := parseExtensionHeader(resp.Header.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return fail("%v", err)
	}
	var pmd *pmdSession
	for _, e := range exts {
		if e.name != "permessage-deflate" || len(offers) == 0 || pmd != nil {
			return fail("server accepted extension %q that was not offered", e.name)
		}
		p, err := parseResponse(e)
		if err != nil {
			return fail("%v", err)
		}
		pmd = newPMD(p)
	}
	conn.SetDeadline(time.Time{})
	return conn, br, pmd, resp.Header.Get("Server"), nil
}

var errNotWebSocket = errors.New("autobahn: not a WebSocket upgrade request")

// serverHandshake checks an upgrade request (RFC 6455 §4.2.1), hijacks
// the connection and writes the 101 response, accepting permessage-deflate
// with accept when given.
func serverHandshake(w http.ResponseWriter, r *http.Request, accept acceptFunc) (net.Conn, *bufio.Reader, *pmdSession, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || !headerHasToken(r.Header, "Upgrade", "websocket") ||
		!headerHasToken(r.Header, "Connection", "upgrade") || r.Header.Get("Sec-WebSocket-Version") != "13" || key == "" {
		http.Error(w, "autobahn fuzzing server: WebSocket upgrade required", http.StatusBadRequest)
		return nil, nil, nil, errNotWebSocket
	}
	var pmd *pmdSession
	var extResp string
	if accept != nil {
		exts, err := parseExtensionHeader(r.Header.Values("Sec-WebSocket-Extensions"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return nil, nil, nil, err
		}
		var offers []deflateOffer
		for _, e := range exts {
			if e.name != "permessage-deflate" {
				continue
			}
			if o, err := parseOffer(e); err == nil {
				offers = append(offers, o)
			}
		}
		if a, ok := accept(offers); ok && len(offers) > 0 {
			pmd = newPMD(serverParams(a))
			extResp = a.String()
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return nil, nil, nil, errors.New("autobahn: response writer cannot hijack")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, nil, err
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	fmt.Fprintf(&b, "Server: %s\r\n", userAgent)
	b.WriteString("Upgrade: WebSocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Accept: %s\r\n", acceptKey(key))
	if extResp != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", extResp)
	}
	b.WriteString("\r\n")
	if _, err := conn.Write([]byte(b.String())); err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	conn.SetDeadline(time.Time{})
	return conn, rw.Reader, pmd, nil
}
