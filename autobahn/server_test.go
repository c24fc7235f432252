package autobahn

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/frame"
)

// dialPeer opens a client connection to the fuzzing server and returns an
// echo peer in the client role.
func dialPeer(t *testing.T, raw string, cfg peerConfig) *echoPeer {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var offers []deflateOffer
	if cfg.deflate {
		offers = []deflateOffer{defaultOffer}
	}
	conn, br, pmd, _, err := clientHandshake(context.Background(), u, offers, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return &echoPeer{cfg: cfg, conn: conn, br: br, pmd: pmd}
}

// readText reads the first text message of a control exchange and then
// answers the server's close.
func (p *echoPeer) readText(t *testing.T) string {
	t.Helper()
	p.conn.SetDeadline(time.Now().Add(5 * time.Second))
	text := ""
	for {
		h, payload, err := readFrame(p.br)
		if err != nil {
			return text
		}
		switch h.Opcode {
		case frame.OpText:
			text = string(payload)
		case frame.OpClose:
			p.write(frame.OpClose, false, payload)
		}
	}
}

// driveClient is the testsuite's client protocol, played by the test peer.
func driveClient(t *testing.T, base, agent string, cfg peerConfig) {
	t.Helper()
	n, err := strconv.Atoi(dialPeer(t, base+"/getCaseCount", cfg).readText(t))
	if err != nil {
		t.Fatalf("getCaseCount: %v", err)
	}
	done := make(chan struct{}, n)
	for i := 1; i <= n; i++ {
		p := dialPeer(t, base+"/runCase?case="+strconv.Itoa(i)+"&agent="+agent, cfg)
		go func() { p.serve(); done <- struct{}{} }()
	}
	for range n {
		<-done
	}
	dialPeer(t, base+"/updateReports?agent="+agent, cfg).readText(t)
}

func TestFuzzingServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := Select([]string{"1.1.*", "2.*", "5.19", "6.3.1", "6.6.*", "7.1.*", "7.9.*", "10.1.1", "12.2.1", "13.5.1", "13.7.3"}, nil)
	f := NewServer(context.Background(), cases, Options{OutDir: dir, Margin: 3 * time.Second})
	srv := httptest.NewServer(f)
	defer srv.Close()
	base := "ws://" + strings.TrimPrefix(srv.URL, "http://")

	driveClient(t, base, "good", peerConfig{deflate: true})
	// A case can also be asked for by id.
	p := dialPeer(t, base+"/runCase?casetuple=2.2&agent=byid", peerConfig{})
	p.serve()
	driveClient(t, base, "lax", peerConfig{skipUTF8: true})

	bad, err := Gate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.md")); err != nil {
		t.Error(err)
	}
	idx, err := ReadIndex(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e := idx["byid"]["2.2"]; e.Behavior != OK || e.BehaviorClose != OK {
		t.Errorf("casetuple=2.2: %+v", e)
	}
	delete(idx, "byid")
	if len(idx["good"]) != len(cases) || len(idx["lax"]) != len(cases) {
		t.Fatalf("index has %d and %d cases, want %d each", len(idx["good"]), len(idx["lax"]), len(cases))
	}
	for id, e := range idx["good"] {
		if !e.Behavior.Passing() || !e.BehaviorClose.Passing() {
			t.Errorf("good client, case %s: %s/%s", id, e.Behavior, e.BehaviorClose)
		}
	}
	got := map[string]string{}
	for _, id := range []string{"6.3.1", "6.6.1", "6.6.2", "7.1.1", "12.2.1"} {
		got[id] = string(idx["lax"][id].Behavior) + "/" + string(idx["lax"][id].BehaviorClose)
	}
	want := map[string]string{"6.3.1": "FAILED/FAILED", "6.6.1": "FAILED/FAILED", "6.6.2": "OK/OK", "7.1.1": "OK/OK", "12.2.1": "UNIMPLEMENTED/OK"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lax client verdicts (-want +got):\n%s", diff)
	}
	// The gate lists exactly the lax client's failures.
	for _, b := range bad {
		if !strings.Contains(b, `agent "lax"`) {
			t.Errorf("gate flagged a good case: %s", b)
		}
	}
	if len(bad) == 0 {
		t.Error("gate passed a client without UTF-8 validation")
	}
}

func TestGate(t *testing.T) {
	code := 1000
	tests := []struct {
		name    string
		idx     Index
		wantBad int
		wantErr bool
	}{
		{"all ok", Index{"a": {"1.1.1": {Behavior: OK, BehaviorClose: OK, RemoteCloseCode: &code}, "7.13.1": {Behavior: Informational, BehaviorClose: Informational}}}, 0, false},
		{"non-strict fails", Index{"a": {"6.4.3": {Behavior: NonStrict, BehaviorClose: OK}}}, 1, false},
		{"unimplemented fails", Index{"a": {"12.1.1": {Behavior: Unimplemented, BehaviorClose: OK}}}, 1, false},
		{"close verdicts fail", Index{"a": {"1": {Behavior: OK, BehaviorClose: Unclean}, "2": {Behavior: OK, BehaviorClose: WrongCode}, "3": {Behavior: OK, BehaviorClose: FailedByClient}}}, 3, false},
		{"empty is an error", Index{}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, err := GateIndex("index.json", tt.idx)
			if len(bad) != tt.wantBad || (err != nil) != tt.wantErr {
				t.Errorf("GateIndex = %v, %v; want %d failures, error %v", bad, err, tt.wantBad, tt.wantErr)
			}
		})
	}
	if _, err := Gate(t.TempDir()); err == nil {
		t.Error("Gate of an empty directory succeeded")
	}
}
