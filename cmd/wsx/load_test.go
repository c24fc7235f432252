package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// loadJSON runs wsx load -json and decodes its summary.
func loadJSON(t *testing.T, args ...string) (loadSummary, result) {
	t.Helper()
	r := wsx(t, "", append([]string{"load", "-json", "-progress", "0"}, args...)...)
	var s loadSummary
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("wsx load -json printed %q: %v\n%s", r.stdout, err, r.stderr)
	}
	return s, r
}

// checkCounts checks that the summary's counts add up.
func checkCounts(t *testing.T, s loadSummary) {
	t.Helper()
	if s.Connected+s.DialFailed != int64(s.Connections) {
		t.Errorf("connected %d + failed %d != %d connections", s.Connected, s.DialFailed, s.Connections)
	}
	if s.Sent != s.Received+s.Lost {
		t.Errorf("sent %d != received %d + lost %d", s.Sent, s.Received, s.Lost)
	}
	if s.Received > 0 && !(0 < s.LatencyMsP50 && s.LatencyMsP50 <= s.LatencyMsP90 && s.LatencyMsP90 <= s.LatencyMsP99 && s.LatencyMsP99 <= s.LatencyMsMax) {
		t.Errorf("latencies not ordered: p50 %v p90 %v p99 %v max %v", s.LatencyMsP50, s.LatencyMsP90, s.LatencyMsP99, s.LatencyMsMax)
	}
}

// Against both of hybi's servers: every message comes back, and the
// server logged as many clean closes as load opened connections.
func TestLoadBothServers(t *testing.T) {
	for _, loop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", loop), func(t *testing.T) {
			args := []string{"serve", "-addr", "127.0.0.1:0"}
			if loop {
				args = append(args, "-loop")
			}
			srv := startWsx(t, args...)
			s, r := loadJSON(t, "-c", "20", "-n", "50", "-size", "100", srv.url)
			if r.code != exitClean {
				t.Errorf("exit %d\n%s", r.code, r.stderr)
			}
			checkCounts(t, s)
			if s.Connected != 20 || s.Sent != 1000 || s.Received != 1000 || s.Lost != 0 || len(s.Errors) != 0 {
				t.Errorf("summary %+v, want 20 connections, 1000 sent and received, no errors", s)
			}
			rx := regexp.MustCompile(`close #\d+ .* closed_by=peer code=1000 `)
			for deadline := time.Now().Add(10 * time.Second); len(rx.FindAllString(srv.log(), -1)) < 20 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if n := len(rx.FindAllString(srv.log(), -1)); n != 20 {
				t.Errorf("server logged %d clean closes, want 20:\n%s", n, srv.log())
			}
		})
	}
}

// Errors are grouped by cause, and the counts still add up.
func TestLoadErrors(t *testing.T) {
	s, r := loadJSON(t, "-c", "3", "-n", "5", "ws://127.0.0.1:1/")
	if r.code != exitFailed {
		t.Errorf("unreachable: exit %d, want %d", r.code, exitFailed)
	}
	checkCounts(t, s)
	if len(s.Errors) != 1 || s.DialFailed != 3 {
		t.Errorf("unreachable: %+v, want 3 failed dials with one cause", s)
	}
	for c, n := range s.Errors {
		if !strings.Contains(c, "connection refused") || n != 3 {
			t.Errorf("cause %q × %d, want connection refused × 3", c, n)
		}
	}

	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-max-size", "50")
	s, r = loadJSON(t, "-c", "4", "-n", "5", "-size", "100", srv.url)
	if r.code != exitFailed {
		t.Errorf("too big: exit %d, want %d", r.code, exitFailed)
	}
	checkCounts(t, s)
	if s.Sent != 4 || s.Lost != 4 || s.Errors["read: closed by peer with 1009 (message too big)"] != 4 {
		t.Errorf("too big: %+v, want 4 sent, 4 lost, 4 × closed by peer with 1009", s)
	}

	r = wsx(t, "", "load", "-progress", "0", "-origin", "http://evil.example", "-c", "2", "-n", "1", srv.url)
	if r.code != exitFailed {
		t.Errorf("refused: exit %d, want %d", r.code, exitFailed)
	}
	contains(t, "refused", r.stdout, "2 failed to connect", "     2  dial: handshake refused: HTTP 403 Forbidden")

	for _, args := range [][]string{{"load"}, {"load", "-c", "0", "ws://x/"}, {"load", "-size", "-1", "ws://x/"}, {"load", "nope"}} {
		r := wsx(t, "", args...)
		if r.code != exitUsage || strings.Contains(r.stderr, "panic") {
			t.Errorf("wsx %v: exit %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
		}
	}
}

// -rate bounds the message rate; -duration ends the run; progress lines
// go to stderr.
func TestLoadRateDuration(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-quiet")
	r := wsx(t, "", "load", "-c", "4", "-duration", "1s", "-rate", "200", "-progress", "300ms", srv.url)
	if r.code != exitClean {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	m := regexp.MustCompile(`messages     (\d+) sent, (\d+) received, 0 lost`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no message counts in:\n%s", r.stdout)
	}
	var sent, received int
	fmt.Sscan(m[1], &sent)
	fmt.Sscan(m[2], &received)
	if sent != received || sent == 0 || sent > 260 {
		t.Errorf("%d sent, %d received in 1 s at -rate 200: want equal, at most 260", sent, received)
	}
	contains(t, "progress", r.stderr, "connected 4/4 sent ")
}

// Ctrl-C stops a long run early, closes cleanly and still prints counts
// that add up.
func TestLoadInterrupt(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-quiet")
	cmd := exec.Command(wsxBinary(t), "load", "-json", "-c", "3", "-duration", "30s", "-rate", "300", srv.url)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	interrupt(t, cmd, &errb)
	var s loadSummary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	checkCounts(t, s)
	if !s.Interrupted || s.Received == 0 || s.Lost != 0 || len(s.Errors) != 0 {
		t.Errorf("summary %+v, want interrupted with messages and no errors", s)
	}
}

// On a terminal the progress is one live line, rewritten in place; the
// terminal is a pseudo-terminal made by script(1) (util-linux).
func TestLoadLiveProgress(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-quiet")
	cmd := exec.Command("script", "-qec", wsxBinary(t)+" load -c 2 -n 100 -rate 200 -progress 100ms "+srv.url, "/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%q", err, out)
	}
	s := string(out)
	if n := strings.Count(s, "\r"); n < 3 || !strings.Contains(s, "\x1b[K") || !strings.Contains(s, "connected 2/2") {
		t.Errorf("want a live counter (\\r, erase to end of line), got %d carriage returns in %q", n, s)
	}
	contains(t, "summary", s, "200 sent, 200 received, 0 lost")
}
