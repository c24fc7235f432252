package autobahn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/frame"
)

func TestCatalogue(t *testing.T) {
	cs := Cases()
	if len(cs) != 517 {
		t.Fatalf("catalogue has %d cases, want 517", len(cs))
	}
	seen := map[string]bool{}
	groups := map[string]int{}
	for _, c := range cs {
		if seen[c.ID] {
			t.Errorf("duplicate case id %s", c.ID)
		}
		seen[c.ID] = true
		groups[c.Group()]++
		if c.open == nil || c.Description == "" || c.expectation == "" || c.bound <= 0 {
			t.Errorf("case %s is incomplete", c.ID)
		}
	}
	want := map[string]int{"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1, "12": 90, "13": 126}
	if diff := cmp.Diff(want, groups); diff != "" {
		t.Errorf("cases per group (-want +got):\n%s", diff)
	}
	for _, id := range []string{"1.1.1", "6.4.4", "6.5.1", "6.22.34", "7.7.13", "7.9.9", "7.13.2", "9.8.6", "10.1.1", "12.5.18", "13.7.18"} {
		if !seen[id] {
			t.Errorf("missing case %s", id)
		}
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name         string
		inc, exc     []string
		wantN        int
		first, lastI string
	}{
		{"all", []string{"*"}, nil, 517, "1.1.1", "13.7.18"},
		{"group", []string{"2.*"}, nil, 11, "2.1", "2.11"},
		{"subgroup minus one", []string{"7.9.*"}, []string{"7.9.1"}, 8, "7.9.2", "7.9.9"},
		{"exact", []string{"6.4.1", "1.1.1"}, nil, 2, "1.1.1", "6.4.1"},
		{"nothing", []string{"99.*"}, nil, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Select(tt.inc, tt.exc)
			if len(got) != tt.wantN {
				t.Fatalf("Select(%v, %v) = %d cases, want %d", tt.inc, tt.exc, len(got), tt.wantN)
			}
			if tt.wantN > 0 && (got[0].ID != tt.first || got[len(got)-1].ID != tt.lastI) {
				t.Errorf("range %s..%s, want %s..%s", got[0].ID, got[len(got)-1].ID, tt.first, tt.lastI)
			}
		})
	}
}

// quick is the cases a test can afford: everything but the bulk groups.
func quick() []*Case {
	return Select([]string{"1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"}, nil)
}

func runAgainst(t *testing.T, cfg peerConfig, cases []*Case) map[string]*Result {
	t.Helper()
	url := startEchoServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	rep, err := RunClient(ctx, url, "testpeer", cases, Options{Concurrency: 8, Margin: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return rep.results["testpeer"]
}

func TestConformingPeerPasses(t *testing.T) {
	t.Parallel()
	cases := append(quick(), Select([]string{"9.1.1", "9.2.1", "9.7.1", "12.1.1", "13.3.1", "13.7.2"}, nil)...)
	res := runAgainst(t, peerConfig{deflate: true}, cases)
	if len(res) != len(cases) {
		t.Fatalf("%d results, want %d", len(res), len(cases))
	}
	// The test peer validates UTF-8 frame by frame, so it detects the bad
	// octet of 6.4.3/6.4.4 (one frame sent in three chops) only when the
	// whole frame is in: the runner must call that NON-STRICT, not OK.
	for _, id := range []string{"6.4.3", "6.4.4"} {
		if r := res[id]; r.Behavior != NonStrict || r.BehaviorClose != OK {
			t.Errorf("case %s: %s/%s, want NON-STRICT/OK", id, r.Behavior, r.BehaviorClose)
		}
		delete(res, id)
	}
	for _, c := range cases {
		r, ok := res[c.ID]
		if ok && !r.Passed() {
			t.Errorf("case %s: %s/%s: %s; %s; received %v", c.ID, r.Behavior, r.BehaviorClose, r.Result, r.ResultClose, r.Received)
		}
	}
	for _, id := range []string{"7.1.6", "7.13.1", "7.13.2"} {
		if res[id].Behavior != Informational || res[id].BehaviorClose != Informational {
			t.Errorf("case %s: %s/%s, want INFORMATIONAL", id, res[id].Behavior, res[id].BehaviorClose)
		}
	}
}

// verdicts runs cases against a peer and returns "behavior/behaviorClose"
// per case id.
func verdicts(t *testing.T, cfg peerConfig, patterns ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, r := range runAgainst(t, cfg, Select(patterns, nil)) {
		out[id] = string(r.Behavior) + "/" + string(r.BehaviorClose)
	}
	return out
}

func TestBrokenPeersFail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      peerConfig
		patterns []string
		want     map[string]string
	}{
		{
			// Like coder/websocket's echo server: text is never validated.
			name: "no UTF-8 validation", cfg: peerConfig{skipUTF8: true},
			patterns: []string{"6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.6.1", "6.6.11", "6.8.1", "6.21.1", "7.5.1", "6.2.1", "6.6.2"},
			want: map[string]string{
				"6.3.1": "FAILED/FAILED", "6.3.2": "FAILED/FAILED", "6.6.1": "FAILED/FAILED", "6.8.1": "FAILED/FAILED", "6.21.1": "FAILED/FAILED",
				// 6.4.x: the fuzzer's own waits elapse, then it kills the connection.
				"6.4.1": "FAILED/FAILED", "6.4.2": "FAILED/FAILED",
				// 7.5.1: the bad close reason is echoed as a normal close: wrong code.
				"7.5.1": "FAILED/WRONG CODE",
				// valid UTF-8 still passes
				"6.2.1": "OK/OK", "6.6.2": "OK/OK", "6.6.11": "OK/OK",
			},
		},
		{
			name: "reserved opcodes and bits ignored", cfg: peerConfig{acceptOpcode: true},
			patterns: []string{"3.1", "3.2", "4.1.1", "4.1.3", "4.2.1", "4.2.5", "1.1.1"},
			want: map[string]string{
				"3.1": "FAILED/FAILED", "3.2": "FAILED/FAILED", "4.1.1": "OK/FAILED", "4.1.3": "FAILED/FAILED",
				"4.2.1": "OK/FAILED", "4.2.5": "FAILED/FAILED", "1.1.1": "OK/OK",
			},
		},
		{
			name: "no permessage-deflate", cfg: peerConfig{},
			patterns: []string{"12.1.1", "12.5.18", "13.1.1", "13.7.18"},
			want: map[string]string{
				"12.1.1": "UNIMPLEMENTED/OK", "12.5.18": "UNIMPLEMENTED/OK", "13.1.1": "UNIMPLEMENTED/OK", "13.7.18": "UNIMPLEMENTED/OK",
			},
		},
		{
			// The echo is changed: cases that compare payloads fail, while 9.x
			// judges only type and length, as the testsuite does.
			name: "corrupts echoes", cfg: peerConfig{corrupt: true, deflate: true},
			patterns: []string{"1.1.2", "5.3", "12.1.1", "12.5.1", "13.1.1", "9.1.1", "9.7.2"},
			want: map[string]string{
				"1.1.2": "FAILED/OK", "5.3": "FAILED/OK", "12.1.1": "FAILED/OK", "12.5.1": "FAILED/OK", "13.1.1": "FAILED/OK",
				"9.1.1": "OK/OK", "9.7.2": "OK/OK",
			},
		},
		{
			name: "never answers close", cfg: peerConfig{noCloseReply: true},
			patterns: []string{"1.1.1", "7.3.3", "7.7.1", "7.13.1"},
			want: map[string]string{
				"1.1.1": "OK/UNCLEAN", "7.3.3": "OK/UNCLEAN", "7.7.1": "OK/UNCLEAN", "7.13.1": "INFORMATIONAL/INFORMATIONAL",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := verdicts(t, tt.cfg, tt.patterns...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFullCatalogue runs all 517 cases against the test peer; it takes
// minutes, so only with AUTOBAHN_FULL=1.
func TestFullCatalogue(t *testing.T) {
	if os.Getenv("AUTOBAHN_FULL") == "" {
		t.Skip("set AUTOBAHN_FULL=1 to run the whole catalogue")
	}
	url := startEchoServer(t, peerConfig{deflate: true})
	start := time.Now()
	rep, err := RunClient(context.Background(), url, "testpeer", nil, Options{Concurrency: 4, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range rep.Summary("testpeer") {
		t.Logf("group %-3s %3d cases %3d pass %6.1fs  %s | %s", g.Group, g.Cases, g.Passed, float64(g.Millis)/1000, verdictCounts(g.Behavior), verdictCounts(g.Close))
	}
	t.Logf("wall time %v", time.Since(start))
}

func TestUTF8Validator(t *testing.T) {
	for _, g := range utf8Vectors() {
		for _, v := range g.vectors {
			if std := utf8.ValidString(v.payload); std != v.valid {
				t.Errorf("%s: %x: table says valid=%v, unicode/utf8 says %v", g.title, v.payload, v.valid, std)
			}
			if got := validUTF8([]byte(v.payload)); got != v.valid {
				t.Errorf("%s: %x valid = %v, want %v", g.title, v.payload, got, v.valid)
			}
			// Byte by byte gives the same answer.
			var val utf8Validator
			ok := true
			for i := range len(v.payload) {
				ok = val.write([]byte{v.payload[i]}) && ok
			}
			if got := ok && val.complete(); got != v.valid {
				t.Errorf("%s: %x byte-wise valid = %v, want %v", g.title, v.payload, got, v.valid)
			}
		}
	}
	long := []byte(strings.Repeat("plain ascii text ", 10) + "\xce\xba" + strings.Repeat("x", 9))
	if !validUTF8(long) || validUTF8(append(long, 0xff)) || validUTF8(append(long[:len(long):len(long)], 0xce)) {
		t.Error("fast path misjudges long inputs")
	}
}

func TestReportShape(t *testing.T) {
	t.Parallel()
	url := startEchoServer(t, peerConfig{})
	dir := t.TempDir()
	rep, err := RunClient(context.Background(), url, "shape", Select([]string{"1.1.1", "9.7.1", "6.3.1"}, nil), Options{Concurrency: 3, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.results["shape"]["9.7.1"]; !r.ReportTime || r.Duration <= 0 || r.Behavior != OK {
		t.Errorf("9.7.1: reportTime %v, duration %d ms, behavior %s; want a timed OK", r.ReportTime, r.Duration, r.Behavior)
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx map[string]map[string]map[string]any
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	e := idx["shape"]["6.3.1"]
	var keys []string
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"behavior", "behaviorClose", "duration", "remoteCloseCode", "reportfile"}, keys); diff != "" {
		t.Errorf("index.json entry keys (-want +got):\n%s", diff)
	}
	if e["reportfile"] != "shape_case_6_3_1.json" || e["remoteCloseCode"] != float64(1007) {
		t.Errorf("6.3.1 entry = %v", e)
	}
	if _, err := os.Stat(filepath.Join(dir, "shape_case_6_3_1.json")); err != nil {
		t.Error(err)
	}
}

func TestHardTimeBound(t *testing.T) {
	t.Parallel()
	url := startEchoServer(t, peerConfig{})
	idle := &Case{ID: "0.0.1", Description: "waits forever", expectation: "nothing", bound: 50 * time.Millisecond,
		open: func(s *session) {
			s.Expect(OK)
			s.ExpectClose(closeNormal)
		}}
	start := time.Now()
	rep, err := RunClient(context.Background(), url, "idle", []*Case{idle}, Options{Margin: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.results["idle"]["0.0.1"]
	if !r.DroppedByMe || !strings.Contains(r.WasNotCleanReason, "time bound") || r.BehaviorClose != Failed {
		t.Errorf("result %+v, want a drop at the time bound and behaviorClose FAILED", r)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("run took %v despite a 150ms bound", d)
	}
}

// A peer that announces a 1 TiB frame must not make the runner allocate
// it: the runner fails the connection with 1009 and the case ends.
func TestHugeFrameFromPeer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := serverHandshake(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte{0x82, 0x7f, 0, 0, 1, 0, 0, 0, 0, 0})
		buf := make([]byte, 1024)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	rep, err := RunClient(context.Background(), "ws://"+strings.TrimPrefix(srv.URL, "http://"), "huge", Select([]string{"1.1.1"}, nil), Options{Margin: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.results["huge"]["1.1.1"]
	if r.LocalCloseCode == nil || *r.LocalCloseCode != 1009 || r.Behavior != Failed {
		t.Errorf("result: behavior %s, local close code %v; want FAILED and 1009", r.Behavior, r.LocalCloseCode)
	}
}

// resetConn is a connection the peer has reset after sending pending: the
// first Write fails with ECONNRESET, and only then can the reader read
// pending (then ECONNRESET). The first Read gives a Close from the writer
// time to happen, as it would under load.
type resetConn struct {
	net.Conn // for deadlines; never read or written
	pending  *bytes.Reader
	reset    chan struct{}
	once     sync.Once
	closed   chan struct{}
	close    sync.Once
	waited   bool
}

func (c *resetConn) Write([]byte) (int, error) {
	c.once.Do(func() { close(c.reset) })
	return 0, syscall.ECONNRESET
}

func (c *resetConn) Read(b []byte) (int, error) {
	<-c.reset
	if !c.waited {
		c.waited = true
		select {
		case <-c.closed:
		case <-time.After(100 * time.Millisecond):
		}
	}
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	if c.pending.Len() > 0 {
		return c.pending.Read(b)
	}
	return 0, syscall.ECONNRESET
}

func (c *resetConn) Close() error {
	c.close.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// A server that fails the connection while the fuzzer's chopped bytes
// still arrive resets it, and the fuzzer's next write fails. What the
// server sent before (4.2.5: the echo, then Close 1002) must still be read
// and judged: the writer must not close the connection under the reader.
func TestWriteErrorKeepsPeerBytes(t *testing.T) {
	t.Parallel()
	var b []byte
	b = frame.AppendFrame(b, frame.Header{Fin: true, Opcode: frame.OpText, Length: 13}, []byte("Hello, world!"))
	b = frame.AppendFrame(b, frame.Header{Fin: true, Opcode: frame.OpClose, Length: 2}, []byte{0x03, 0xea})
	nc, other := net.Pipe()
	defer other.Close()
	conn := &resetConn{Conn: nc, pending: bytes.NewReader(b), reset: make(chan struct{}), closed: make(chan struct{})}
	c := Select([]string{"4.2.5"}, nil)[0]
	s := newSession(c, conn, bufio.NewReader(conn), false, nil)
	s.run(context.Background(), c.bound+time.Second)
	r := s.result("reset", time.Now())
	if r.Behavior != OK || r.BehaviorClose != OK || r.RemoteCloseCode == nil || *r.RemoteCloseCode != 1002 {
		t.Errorf("behavior %s, behaviorClose %s, remote close code %v; want OK, OK, 1002\nwirelog: %q",
			r.Behavior, r.BehaviorClose, r.RemoteCloseCode, r.Wirelog)
	}
	select {
	case <-conn.closed:
	case <-time.After(5 * time.Second):
		t.Error("the connection was not closed after the session ended")
	}
}
