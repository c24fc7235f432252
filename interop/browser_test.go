package interop

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hybi/websocket/interop/peers"
)

// chromium is Debian's package; the browser peer runs it headless on a
// page hybi serves, and the page's own WebSocket talks to hybi.
const chromium = "/usr/bin/chromium"

//go:embed browser/page.html
var browserPage []byte

// browserResults carries what the page POSTs to /page/result.
var browserResults = make(chan []byte, 64)

// registerBrowser serves the page and the endpoint its results come back
// to, next to hybi's WebSocket endpoints.
func registerBrowser(mux *http.ServeMux) {
	mux.HandleFunc("GET /page/index.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(browserPage)
	})
	mux.HandleFunc("POST /page/result", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case browserResults <- b:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// browserTimeout bounds the whole browser run.
const browserTimeout = 2 * time.Minute

// browserClients loads the page in headless Chromium and collects the
// results it posts. A browser that cannot start fails the test.
func browserClients(t *testing.T, base string, scenarios []string) map[string]peers.Result {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("base %q: %v", base, err)
	}
	page := "http://" + u.Host + "/page/index.html?" + url.Values{
		"base":      {base},
		"scenarios": {strings.Join(scenarios, ",")},
	}.Encode()
	cmd := exec.Command(chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), page)
	// Its own process group, so that the renderer and helper processes it
	// forks end with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium cannot start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}

	out := map[string]peers.Result{}
	deadline := time.After(browserTimeout)
	for {
		select {
		case b := <-browserResults:
			var r struct {
				Done bool `json:"done"`
				peers.Result
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Errorf("chromium: bad result %q: %v", b, err)
				continue
			}
			if r.Done {
				stop()
				return out
			}
			out[r.Scenario] = r.Result
		case err := <-exited:
			exited <- err
			t.Fatalf("chromium exited before the page finished (%v, %d results); output:\n%s", err, len(out), lastLines(stderr.String(), 30))
		case <-deadline:
			stop()
			t.Fatalf("chromium: the page did not finish within %v (%d results); output:\n%s", browserTimeout, len(out), lastLines(stderr.String(), 30))
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(toBytes(lines), []byte("\n")))
}

func toBytes(ss []string) [][]byte {
	b := make([][]byte, len(ss))
	for i, s := range ss {
		b[i] = []byte(s)
	}
	return b
}
