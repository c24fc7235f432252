package interop

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	websocket "github.com/hybi/websocket"
)

// refusals are what TestHookRefusalPeers' OnRequest answers, chosen by the
// first path segment of the request.
var refusals = map[string]struct {
	status        int
	header, value string
	body          string
}{
	"401": {401, "WWW-Authenticate", `Bearer realm="interop"`, "token required"},
	"404": {404, "", "", "no such room"},
	"429": {429, "Retry-After", "7", "slow down"},
}

func refusingHook(r *websocket.Request) error {
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	rf, ok := refusals[seg]
	if !ok {
		return nil
	}
	var h http.Header
	if rf.header != "" {
		h = http.Header{rf.header: {rf.value}}
	}
	return websocket.Reject(rf.status, h, rf.body)
}

// TestHookRefusalPeers: Node ws and Python websockets clients see the
// status, header fields and body an AcceptOptions.OnRequest refusal
// chose, from Accept (net/http) and from Upgrade (raw sockets).
func TestHookRefusalPeers(t *testing.T) {
	opts := &websocket.AcceptOptions{OnRequest: refusingHook}
	servers := map[string]string{
		"Accept": serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c, err := websocket.Accept(w, r, opts); err == nil {
				c.CloseNow()
			}
		})),
		"Upgrade": rawServe(t, opts),
	}
	for _, p := range externalPeers() {
		if p.name != "node-ws" && p.name != "py-websockets" {
			continue
		}
		for path, addr := range servers {
			for seg, rf := range refusals {
				t.Run(p.name+"/"+path+"/"+seg, func(t *testing.T) {
					res, ok := p.clients(t, "ws://"+addr+"/"+seg, []string{"reject"})["reject"]
					if !ok {
						t.Fatal("the peer reported no result")
					}
					if res.Status != rf.status {
						t.Fatalf("peer saw status %d (%+v), want %d", res.Status, res, rf.status)
					}
					if rf.header != "" && res.Headers[strings.ToLower(rf.header)] != rf.value {
						t.Errorf("peer saw %s %q, want %q (headers %v)", rf.header, res.Headers[strings.ToLower(rf.header)], rf.value, res.Headers)
					}
					if got := res.Headers["content-length"]; got != strconv.Itoa(len(rf.body)) {
						t.Errorf("peer saw Content-Length %q, want %d", got, len(rf.body))
					}
					// Node's API hands over the body; Python websockets'
					// InvalidStatusCode does not.
					if p.name == "node-ws" && !strings.HasSuffix(res.Detail, ": "+rf.body) {
						t.Errorf("peer saw %q, want the body %q", res.Detail, rf.body)
					}
				})
			}
		}
	}
}

// rawServe runs Upgrade with opts on every connection of a loopback
// listener until the test ends and returns its host:port.
func rawServe(t *testing.T, opts *websocket.AcceptOptions) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c, err := websocket.Upgrade(nc, nil, opts)
				if err != nil {
					nc.Close()
					return
				}
				c.CloseNow()
			}()
		}
	}()
	return ln.Addr().String()
}
