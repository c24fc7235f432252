// Package interop runs hybi against independent WebSocket implementations
// in both roles: gorilla/websocket, coder/websocket, gobwas/ws and
// lxzan/gws in process; Node's ws, Python's websockets and autobahn as
// child processes; headless Chromium loading a page hybi serves. hybi
// serves in both of its modes (a goroutine reading each connection, and a
// websocket.Loop), and every peer client runs every scenario against each.
// A peer that cannot be started fails its test: nothing is skipped
// silently.
// docs/interop.md shows the matrix and the command that produced it.
package interop

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/interop/peers"
)

// peer is one independent implementation.
type peer struct {
	name string
	// clients runs scenarios with the peer as the client against hybi at
	// base and returns its results by scenario; nil if the peer has no
	// client role here.
	clients func(t *testing.T, base string, scenarios []string) map[string]peers.Result
	// server starts the peer's interop server (see peers.Server) and
	// returns its base URL and a lookup of its reports; nil if the peer
	// has no server role.
	server func(t *testing.T) (base string, events func(string) (peers.Event, bool))
}

// allPeers lists every peer of the matrix, in matrix order.
func allPeers() []peer {
	var ps []peer
	for _, l := range peers.Libs() {
		ps = append(ps, goPeer(l))
	}
	return append(ps, externalPeers()...)
}

// goPeer runs a Go library in process.
func goPeer(l peers.Lib) peer {
	return peer{
		name: l.Name,
		clients: func(t *testing.T, base string, scenarios []string) map[string]peers.Result {
			out := map[string]peers.Result{}
			for _, s := range scenarios {
				out[s] = peers.RunClient(context.Background(), l, base, s)
			}
			return out
		},
		server: func(t *testing.T) (string, func(string) (peers.Event, bool)) {
			hub := newEventHub()
			base := serve(t, peers.Server(l, hub.add))
			return "ws://" + base, hub.wait
		},
	}
}

// serve runs h on a loopback port until the test ends and returns the
// host:port.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
	})
	return ln.Addr().String()
}

// eventHub collects a peer server's reports by scenario.
type eventHub struct {
	mu sync.Mutex
	ch map[string]chan peers.Event
}

func newEventHub() *eventHub { return &eventHub{ch: map[string]chan peers.Event{}} }

func (h *eventHub) get(s string) chan peers.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.ch[s]
	if !ok {
		c = make(chan peers.Event, 8)
		h.ch[s] = c
	}
	return c
}

func (h *eventHub) add(e peers.Event) {
	select {
	case h.get(e.Scenario) <- e:
	default:
	}
}

// wait returns the scenario's first "close" report (or the first report of
// another kind if no close comes), waiting a few seconds at most.
func (h *eventHub) wait(s string) (peers.Event, bool) {
	var first peers.Event
	got := false
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-h.get(s):
			if e.Event == "close" {
				return e, true
			}
			if !got {
				first, got = e, true
			}
		case <-timeout:
			return first, got
		}
	}
}

// The matrix: every scenario of every peer in each role, as the tests ran.
var (
	matrixMu sync.Mutex
	matrix   = map[[3]string]string{} // {peer, role, scenario} → result
)

func record(t *testing.T, peerName, role, scenario string, run func(t *testing.T) string) {
	t.Run(scenario, func(t *testing.T) {
		note := ""
		defer func() {
			res := "pass"
			switch {
			case t.Failed():
				res = "FAIL"
			case strings.HasPrefix(note, "n/a"):
				res = note
			case note != "":
				res = "pass (" + note + ")"
			}
			matrixMu.Lock()
			matrix[[3]string{peerName, role, scenario}] = res
			matrixMu.Unlock()
		}()
		note = run(t)
	})
}

// TestHybiServer: hybi serves, a goroutine reading each connection; each
// peer is the client.
func TestHybiServer(t *testing.T) {
	hs := newHybiServer()
	testServing(t, "client", serve(t, hybiMux(hs)), &hs.observations)
}

// TestHybiLoopServer: hybi serves with a websocket.Loop reading every
// connection; each peer is the client, with the same scenarios and checks.
func TestHybiLoopServer(t *testing.T) {
	ls := newLoopServer(t)
	testServing(t, "loop-client", serve(t, hybiMux(ls)), &ls.observations)
}

// testServing runs every peer's client scenarios against the hybi server
// at addr, whose observations are obs, and records them under role.
func testServing(t *testing.T, role, addr string, obs *observations) {
	for _, p := range allPeers() {
		if p.clients == nil {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			scenarios := peerScenarios(p.name)
			results := p.clients(t, "ws://"+addr+"/"+p.name, scenarios)
			for _, s := range scenarios {
				record(t, p.name, role, s, func(t *testing.T) string {
					res, ok := results[s]
					if !ok {
						t.Fatalf("the peer reported no result for %s", s)
					}
					if res.Unsupported {
						return checkServerScenario(t, p.name, s, res, serverObs{})
					}
					o, ok := obs.wait(p.name, s, 10*time.Second)
					if !ok {
						t.Fatalf("hybi saw no connection for %s (peer result %+v)", s, res)
					}
					return checkServerScenario(t, p.name, s, res, o)
				})
			}
		})
	}
}

// TestHybiClient: each peer serves, hybi is the client.
func TestHybiClient(t *testing.T) {
	for _, p := range allPeers() {
		if p.server == nil {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			base, events := p.server(t)
			for _, s := range clientScenarios {
				record(t, p.name, "server", s, func(t *testing.T) string {
					return runHybiClient(t, p.name, base, s, events)
				})
			}
		})
	}
}

// peerScenarios is the scenario list a peer client runs.
func peerScenarios(string) []string { return peers.Scenarios() }

// hybiMux serves the peer-client scenarios and the browser page.
func hybiMux(hs http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", hs)
	registerBrowser(mux)
	return mux
}

func TestMain(m *testing.M) {
	code := m.Run()
	if out := writeMatrix(); out != "" {
		fmt.Print(out)
	}
	os.Exit(code)
}

// writeMatrix renders the matrix as Markdown tables, one per role, and
// writes it to $INTEROP_MATRIX when set.
func writeMatrix() string {
	matrixMu.Lock()
	defer matrixMu.Unlock()
	if len(matrix) == 0 {
		return ""
	}
	var b strings.Builder
	var notes []string
	noteIndex := map[string]int{}
	footnote := func(text string) int {
		if i, ok := noteIndex[text]; ok {
			return i
		}
		notes = append(notes, text)
		noteIndex[text] = len(notes)
		return len(notes)
	}
	for _, role := range []struct{ key, title string }{
		{"client", "hybi is the server, the peer is the client"},
		{"loop-client", "hybi (Loop) is the server, the peer is the client"},
		{"server", "hybi is the client, the peer is the server"},
	} {
		var cols []string
		for _, p := range allPeers() {
			for k := range matrix {
				if k[0] == p.name && k[1] == role.key {
					cols = append(cols, p.name)
					break
				}
			}
		}
		if len(cols) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n| scenario | %s |\n|---|%s\n", role.title, strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
		for _, s := range peers.Scenarios() {
			fmt.Fprintf(&b, "| %s |", s)
			for _, c := range cols {
				r, ok := matrix[[3]string{c, role.key, s}]
				switch {
				case !ok:
					r = "not run"
				case strings.HasPrefix(r, "n/a: "):
					r = fmt.Sprintf("n/a [%d]", footnote(strings.TrimPrefix(r, "n/a: ")))
				case strings.HasPrefix(r, "pass ("):
					r = fmt.Sprintf("pass [%d]", footnote(strings.TrimSuffix(strings.TrimPrefix(r, "pass ("), ")")))
				}
				fmt.Fprintf(&b, " %s |", r)
			}
			b.WriteString("\n")
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "%d. %s\n", i+1, n)
		}
	}
	out := b.String()
	if path := os.Getenv("INTEROP_MATRIX"); path != "" {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "interop: writing the matrix: %v\n", err)
		}
	}
	return out
}
