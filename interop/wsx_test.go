package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/interop/peers"
)

// wsx builds cmd/wsx of the main module once per test and runs it.
func buildWsxTool(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wsx")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hybi/websocket/cmd/wsx").CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/wsx: %v\n%s", err, out)
	}
	return bin
}

// runWsxTool runs the binary and returns stdout, stderr and the exit status.
func runWsxTool(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("wsx %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func wantAll(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// TestWsxAgainstPeers runs wsx connect against the servers of Node's ws
// and Python's websockets (echo with compression, ping, close with a code,
// a fragmented message, a peer's close, a refused handshake), and wsx proxy
// between wsx connect and each of them, with both legs' close reported.
func TestWsxAgainstPeers(t *testing.T) {
	bin := buildWsxTool(t)
	for _, p := range externalPeers() {
		if p.name != "node-ws" && p.name != "py-websockets" {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			base, events := p.server(t)
			long := strings.Repeat("wsx interop ", 200) // 2400 bytes: over Node's 1 KiB compression threshold

			out, errs, code := runWsxTool(t, bin, "connect", "-trace", "-compress", base+"/echo?s=wsx-echo", "hi", "/ping are-you-there", long, "/close 4000 wsx-bye")
			if code != 0 {
				t.Errorf("echo: exit %d\n%s", code, errs)
			}
			if out != "< hi\n< "+long+"\n" {
				t.Errorf("echo: stdout %q", out)
			}
			wantAll(t, "echo trace", errs,
				`extensions "permessage-deflate`,
				`client→server text         fin=1 rsv1=0 mask=1 len=2 "hi"`,
				`client→server ping         fin=1 rsv1=0 mask=1 len=13 "are-you-there"`,
				`server→client pong         fin=1 rsv1=0 mask=0 len=13 "are-you-there"`,
				"client→server text         fin=1 rsv1=1 mask=1",
				"server→client text         fin=1 rsv1=1 mask=0",
				`client→server close        fin=1 rsv1=0 mask=1 len=9 code=4000 reason="wsx-bye"`,
				"closed by us (local)", "code   4000", "close sent, then received", "cause  none: the closing handshake completed")
			if e, ok := events("wsx-echo"); !ok || e.Code != 4000 || e.Reason != "wsx-bye" {
				t.Errorf("echo: the peer reported %+v, want close 4000 wsx-bye", e)
			}

			out, errs, code = runWsxTool(t, bin, "connect", "-trace", "-wait", "1", base+"/fragments?s=wsx-frag")
			if code != 0 || !strings.HasPrefix(out, "< ") {
				t.Errorf("fragments: exit %d, stdout %.80q\n%s", code, out, errs)
			}
			wantAll(t, "fragments trace", errs, "server→client text         fin=0 rsv1=0 mask=0", "server→client continuation fin=1 rsv1=0 mask=0")

			_, errs, code = runWsxTool(t, bin, "connect", "-trace", "-wait", "0", base+"/close?s=wsx-close", "/sleep 3s")
			if code != 1 {
				t.Errorf("peer close: exit %d, want 1 (the peer closed with %d)\n%s", code, peers.PeerCloseCode, errs)
			}
			wantAll(t, "peer close", errs, "server→client close        fin=1 rsv1=0 mask=0", `code=4001 reason="peer-bye"`,
				"closed by the peer", "code   4001", `reason "peer-bye"`, "close received, then sent")

			_, errs, code = runWsxTool(t, bin, "connect", base+"/reject")
			if code != 3 {
				t.Errorf("reject: exit %d, want 3", code)
			}
			wantAll(t, "reject", errs, "handshake refused: HTTP 403 Forbidden", peers.RejectBody)

			// wsx proxy between wsx connect and the peer: the peer closes,
			// the proxy carries it to the client, both legs are reported.
			purl, proxyLog := startWsxProxy(t, bin, base+"/")
			_, errs, code = runWsxTool(t, bin, "connect", "-wait", "0", purl+"close?s=wsx-proxy", "/sleep 3s")
			if code != 1 {
				t.Errorf("through proxy: exit %d, want 1\n%s", code, errs)
			}
			wantAll(t, "through proxy", errs, "closed by the peer", "code   4001", `reason "peer-bye"`)
			want := regexp.MustCompile(`  client leg: closed_by=local code=4001 reason="peer-bye" frames="close sent, then received"\n  server leg: closed_by=peer code=4001 reason="peer-bye" frames="close received, then sent"\n`)
			deadline := time.Now().Add(5 * time.Second)
			for {
				s := proxyLog()
				if want.MatchString(s) {
					wantAll(t, "proxy trace", s, "server→proxy close", "proxy→client close", "client→proxy close", "proxy→server close")
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("proxy log never reported both legs:\n%s", s)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// startWsxProxy starts wsx proxy -trace in front of upstream and returns
// its URL and a function returning its output so far; it is interrupted
// when the test ends.
func startWsxProxy(t *testing.T, bin, upstream string) (string, func() string) {
	t.Helper()
	px := exec.Command(bin, "proxy", "-trace", "-listen", "127.0.0.1:0", upstream)
	pr, pw := io.Pipe()
	px.Stdout, px.Stderr = pw, pw
	if err := px.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log strings.Builder
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := regexp.MustCompile(`ws://[^ /]+/`).FindString(sc.Text()); m != "" && strings.Contains(sc.Text(), "proxy on") {
				urls <- m
			}
		}
	}()
	t.Cleanup(func() {
		px.Process.Signal(os.Interrupt)
		px.Wait()
		pw.Close()
	})
	get := func() string {
		mu.Lock()
		defer mu.Unlock()
		return log.String()
	}
	select {
	case u := <-urls:
		return u, get
	case <-time.After(10 * time.Second):
		t.Fatalf("wsx proxy printed no URL:\n%s", get())
	}
	return "", nil
}

// TestWsxProxyNodeToPython puts wsx proxy between Node's ws as the client
// and Python's websockets as the server: the client's scenarios pass
// through it, and for each close the proxy reports both legs, with the
// side that started it on the right leg.
func TestWsxProxyNodeToPython(t *testing.T) {
	bin := buildWsxTool(t)
	var node, py peer
	for _, p := range externalPeers() {
		switch p.name {
		case "node-ws":
			node = p
		case "py-websockets":
			py = p
		}
	}
	base, _ := py.server(t)
	purl, proxyLog := startWsxProxy(t, bin, base+"/")
	// Pings are answered by each leg, not relayed, so hybi-ping (a ping
	// from the server that the client must see) does not apply.
	scenarios := []string{"echo-text-125", "echo-binary-65536", "send-fragmented", "recv-fragmented", "ping",
		"close-peer", "close-hybi", "subprotocol", "reject"}
	results := node.clients(t, strings.TrimSuffix(purl, "/"), scenarios)
	for _, s := range scenarios {
		r, ok := results[s]
		if !ok || !r.OK {
			t.Errorf("%s through wsx proxy: %+v", s, r)
		}
	}
	if r := results["close-hybi"]; r.Code != peers.PeerCloseCode || r.Reason != peers.PeerCloseReason {
		t.Errorf("close-hybi: the client saw %d %q, want %d %q", r.Code, r.Reason, peers.PeerCloseCode, peers.PeerCloseReason)
	}
	if r := results["reject"]; r.Status != 403 {
		t.Errorf("reject: status %d, want 403", r.Status)
	}
	for _, c := range []struct{ scenario, clientLeg, serverLeg string }{
		{"close-peer", "peer", "local"}, // Node closed
		{"close-hybi", "local", "peer"}, // Python closed
	} {
		open := regexp.MustCompile(`open  #(\d+) remote=\S+ upstream=\S+\?s=` + c.scenario + ` `).FindStringSubmatch(proxyLog())
		if open == nil {
			t.Errorf("%s: no open line in the proxy log:\n%s", c.scenario, proxyLog())
			continue
		}
		want := regexp.MustCompile(`close #` + open[1] + ` duration=\S+\n  client leg: closed_by=` + c.clientLeg + ` code=4001 reason="peer-bye" frames="[^"]+"\n  server leg: closed_by=` + c.serverLeg + ` code=4001 reason="peer-bye"`)
		deadline := time.Now().Add(5 * time.Second)
		for !want.MatchString(proxyLog()) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !want.MatchString(proxyLog()) {
			t.Errorf("%s: the proxy did not report both legs as %s:\n%s", c.scenario, want, proxyLog())
		}
	}
}
