package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

// connect → proxy -trace → serve: the messages and the client's close
// cross both legs, the trace shows each frame on each leg with its
// direction, and both legs' CloseError are reported.
func TestProxyClientCloses(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-subprotocol", "chat.v1")
	px := startWsx(t, "proxy", "-trace", "-listen", "127.0.0.1:0", srv.url)
	r := wsx(t, "", "connect", "-subprotocol", "chat.v2,chat.v1", px.url+"room?x=1", "hi", "/close 4002 bye")
	if r.code != exitClean || r.stdout != "< hi\n" {
		t.Errorf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	contains(t, "connect", r.stderr, `subprotocol "chat.v1"`, "code   4002", "close sent, then received")
	px.waitLog(t, `close #1 duration=\S+\n  client leg: closed_by=peer code=4002 reason="bye" frames="close received, then sent"\n  server leg: closed_by=local code=4002 reason="bye" frames="close sent, then received"\n`)
	contains(t, "proxy log", px.log(),
		`upstream=`+srv.url+`room?x=1 subprotocol="chat.v1"`,
		`#1 client→proxy text         fin=1 rsv1=0 mask=1 len=2 "hi"`,
		`#1 proxy→server text         fin=1 rsv1=0 mask=1 len=2 "hi"`,
		`#1 server→proxy text         fin=1 rsv1=0 mask=0 len=2 "hi"`,
		`#1 proxy→client text         fin=1 rsv1=0 mask=0 len=2 "hi"`,
		`#1 client→proxy close        fin=1 rsv1=0 mask=1 len=5 code=4002 reason="bye"`,
		`#1 proxy→server close        fin=1 rsv1=0 mask=1 len=5 code=4002 reason="bye"`)
	srv.waitLog(t, `close #1 .* closed_by=peer code=4002 reason="bye"`)
	contains(t, "server log", srv.log(), `path="/room" subprotocol="chat.v1"`)
}

// A refused upstream handshake reaches the client with its status and
// body; an unreachable upstream is a 502.
func TestProxyRefusals(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0")
	px := startWsx(t, "proxy", "-listen", "127.0.0.1:0", srv.url)
	r := wsx(t, "", "connect", "-origin", "http://evil.example", px.url)
	if r.code != exitNoDial {
		t.Errorf("exit %d, want %d", r.code, exitNoDial)
	}
	contains(t, "connect", r.stderr, "handshake refused: HTTP 403 Forbidden\norigin not allowed")
	px.waitLog(t, `refused #1 remote=\S+ upstream=\S+: handshake refused: HTTP 403 Forbidden`)

	dead := startWsx(t, "proxy", "-listen", "127.0.0.1:0", "ws://127.0.0.1:1/")
	r = wsx(t, "", "connect", dead.url)
	if r.code != exitNoDial {
		t.Errorf("exit %d, want %d", r.code, exitNoDial)
	}
	contains(t, "connect", r.stderr, "HTTP 502 Bad Gateway", "connection refused")

	for _, args := range [][]string{
		{"proxy"},
		{"proxy", "-listen", "127.0.0.1:0", "nope://x"},
		{"proxy", "-listen", "127.0.0.1:0", "-H", "A: b", "ws://127.0.0.1:1/"},
		{"proxy", "-listen", "127.0.0.1:0", "ws://a/", "ws://b/"},
	} {
		r := wsx(t, "", args...)
		if r.code != exitUsage || strings.Contains(r.stderr, "panic") {
			t.Errorf("wsx %v: exit %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
		}
	}
}

// Ctrl-C on the server: the proxy relays its 1001 to the client and
// reports the server's leg closed by the peer. Ctrl-C on the proxy: it
// closes both legs of every pair with 1001.
func TestProxyInterrupted(t *testing.T) {
	for _, tt := range []struct {
		name, reason      string
		srvLog, pxLog     string
		interruptTheProxy bool
	}{
		{"server", "server shutting down",
			`close #1 .* closed_by=local code=1001 reason="server shutting down"`,
			`  client leg: closed_by=local code=1001 reason="server shutting down" frames="close sent, then received"\n  server leg: closed_by=peer code=1001 reason="server shutting down" frames="close received, then sent"\n`,
			false},
		{"proxy", "proxy shutting down",
			`close #1 .* closed_by=peer code=1001 reason="proxy shutting down"`,
			`  client leg: closed_by=local code=1001 reason="proxy shutting down" frames="close sent, then received"\n  server leg: closed_by=local code=1001`,
			true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startWsx(t, "serve", "-addr", "127.0.0.1:0")
			px := startWsx(t, "proxy", "-listen", "127.0.0.1:0", srv.url)
			c := startConnect(t, px.url)
			io.WriteString(c.stdin, "x\n")
			c.waitFor(t, &c.stdout, "< x\n")
			if tt.interruptTheProxy {
				px.cmd.Process.Signal(os.Interrupt)
			} else {
				srv.cmd.Process.Signal(os.Interrupt)
			}
			if code := c.wait(t); code != exitClean {
				t.Errorf("exit %d\n%s", code, c.stderr.String())
			}
			contains(t, "connect", c.stderr.String(), "closed by the peer", "code   1001 (going away)", `reason "`+tt.reason+`"`)
			srv.waitLog(t, tt.srvLog)
			px.waitLog(t, tt.pxLog)
		})
	}
}
