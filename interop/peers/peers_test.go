package peers

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestPeersAgainstEachOther checks the harness itself: every Go peer's
// client runs every scenario against every Go peer's interop server (which
// mirrors hybi's paths), so a failure in the hybi matrix points at hybi,
// not at an adapter.
// knownBroken are pairs of peers that do not interoperate, with why.
var knownBroken = map[[3]string]string{
	// gws, serving with context takeover, answers client_max_window_bits=12
	// to an offer without that parameter (RFC 7692 §7.1.2.2: the response
	// "MUST NOT include the client_max_window_bits extension parameter"),
	// and coder's client refuses the response.
	{"coder", "gws", "compression"}:    "gws answers client_max_window_bits=12 unasked; coder refuses",
	{"coder", "gws", "no-compression"}: "gws answers client_max_window_bits=12 unasked; coder refuses",
}

func TestPeersAgainstEachOther(t *testing.T) {
	for _, srv := range Libs() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: Server(srv, func(Event) {})}
		go hs.Serve(ln)
		t.Cleanup(func() { hs.Close() })
		for _, cli := range Libs() {
			t.Run(cli.Name+"→"+srv.Name, func(t *testing.T) {
				for _, s := range Scenarios() {
					if s == "heartbeat" {
						continue // hybi's heartbeat: Server has no equivalent
					}
					if why, ok := knownBroken[[3]string{cli.Name, srv.Name, s}]; ok {
						t.Logf("%s: not checked: %s", s, why)
						continue
					}
					r := RunClient(context.Background(), cli, "ws://"+ln.Addr().String()+"/x", s)
					switch {
					case r.Unsupported:
						if !strings.Contains(s, "compression") || (cli.Deflate && srv.Deflate) {
							t.Errorf("%s: unsupported: %s", s, r.Detail)
						}
					case !r.OK:
						t.Errorf("%s: %s", s, r.Error)
					}
					if s == "compression" && cli.Deflate && srv.Deflate && !strings.Contains(r.Extensions, "permessage-deflate") {
						t.Errorf("compression: extensions %q", r.Extensions)
					}
				}
			})
		}
	}
}

func TestParseEcho(t *testing.T) {
	for _, tc := range []struct {
		in     string
		binary bool
		n      int
		ok     bool
	}{
		{"echo-text-0", false, 0, true},
		{"echo-binary-1048576", true, 1 << 20, true},
		{"echo-blob-1", false, 0, false},
		{"echo-text-x", false, 0, false},
		{"ping", false, 0, false},
	} {
		b, n, ok := ParseEcho(tc.in)
		if b != tc.binary || n != tc.n || ok != tc.ok {
			t.Errorf("ParseEcho(%q) = %v, %d, %v; want %v, %d, %v", tc.in, b, n, ok, tc.binary, tc.n, tc.ok)
		}
	}
}

func TestFindHeader(t *testing.T) {
	head := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Extensions:  permessage-deflate; x\r\n\r\nbody: no\r\n")
	if got := findHeader(head, "sec-websocket-extensions"); got != "permessage-deflate; x" {
		t.Errorf("findHeader = %q", got)
	}
	if got := findHeader(head, "body"); got != "" {
		t.Errorf("findHeader found %q after the head", got)
	}
}
