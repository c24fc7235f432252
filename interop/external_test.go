package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/interop/peers"
)

// The system Python with Debian's python3-websockets and python3-autobahn;
// not whatever python3 comes first on PATH.
const python = "/usr/bin/python3"

// externalPeers are the peers run as child processes, and the browser.
func externalPeers() []peer {
	return []peer{
		{name: "node-ws", clients: procClients("node", "node/client.js"), server: procServer("node", "node/server.js")},
		{name: "py-websockets", clients: procClients(python, "python/websockets_client.py"), server: procServer(python, "python/websockets_server.py")},
		{name: "py-autobahn", clients: procClients(python, "python/autobahn_client.py"), server: procServer(python, "python/autobahn_server.py")},
		{name: "chromium", clients: browserClients},
	}
}

// procTimeout bounds a peer client process running every scenario.
const procTimeout = 3 * time.Minute

// procClients runs `cmd script base scenarios...`, which prints one JSON
// peers.Result per line. A peer that cannot start or crashes fails the
// test.
func procClients(cmd, script string) func(*testing.T, string, []string) map[string]peers.Result {
	return func(t *testing.T, base string, scenarios []string) map[string]peers.Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
		defer cancel()
		c := exec.CommandContext(ctx, cmd, append([]string{script, base}, scenarios...)...)
		var stderr bytes.Buffer
		c.Stderr = &stderr
		stdout, err := c.Output()
		if err != nil {
			t.Errorf("peer client %s %s: %v\nstderr:\n%s", cmd, script, err, stderr.String())
		}
		out := map[string]peers.Result{}
		for _, line := range bytes.Split(stdout, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var r peers.Result
			if err := json.Unmarshal(line, &r); err != nil {
				t.Errorf("peer client %s: bad result line %q: %v", script, line, err)
				continue
			}
			out[r.Scenario] = r
		}
		if len(out) == 0 {
			t.Fatalf("peer client %s %s reported nothing (stderr: %s)", cmd, script, stderr.String())
		}
		return out
	}
}

// procServer starts `cmd script`, which prints {"listening": port} and then
// one JSON peers.Event per line, and stops it when the test ends.
func procServer(cmd, script string) func(*testing.T) (string, func(string) (peers.Event, bool)) {
	return func(t *testing.T) (string, func(string) (peers.Event, bool)) {
		t.Helper()
		c := exec.Command(cmd, script)
		var stderr lockedBuffer
		c.Stderr = &stderr
		stdout, err := c.StdoutPipe()
		if err != nil {
			t.Fatalf("peer server %s: %v", script, err)
		}
		if err := c.Start(); err != nil {
			t.Fatalf("peer server %s %s cannot start: %v", cmd, script, err)
		}
		exited := make(chan struct{})
		t.Cleanup(func() {
			c.Process.Kill()
			<-exited
		})
		hub := newEventHub()
		port := make(chan int, 1)
		go func() {
			defer close(exited)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				var l struct {
					Listening int `json:"listening"`
					peers.Event
				}
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					continue
				}
				if l.Listening != 0 {
					port <- l.Listening
					continue
				}
				hub.add(l.Event)
			}
			c.Wait()
		}()
		select {
		case p := <-port:
			return "ws://127.0.0.1:" + strconv.Itoa(p), hub.wait
		case <-exited:
			t.Fatalf("peer server %s %s exited before listening; stderr:\n%s", cmd, script, stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("peer server %s %s did not start listening within 30s; stderr:\n%s", cmd, script, stderr.String())
		}
		return "", nil
	}
}

// lockedBuffer collects a child's stderr; exec writes it from its own
// goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
