package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeIndex(t *testing.T, dir, role, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, role), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, role, "index.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGate(t *testing.T) {
	const ok = `{"hybi": {"1.1.1": {"behavior": "OK", "behaviorClose": "OK", "duration": 2, "remoteCloseCode": 1000, "reportfile": "x.json"},
		"7.13.1": {"behavior": "INFORMATIONAL", "behaviorClose": "INFORMATIONAL", "duration": 2, "remoteCloseCode": null, "reportfile": "y.json"}}}`
	const bad = `{"hybi": {"6.4.3": {"behavior": "NON-STRICT", "behaviorClose": "OK", "duration": 2002, "remoteCloseCode": 1007, "reportfile": "z.json"}}}`
	tests := []struct {
		name     string
		servers  string
		clients  string
		wantCode int
		wantOut  string
	}{
		{"both pass", ok, ok, 0, "every case OK or INFORMATIONAL"},
		{"client non-strict", ok, bad, 1, filepath.Join("clients", "index.json") + `: agent "hybi" case 6.4.3: behavior NON-STRICT`},
		{"only servers", ok, "", 0, "every case OK"},
		{"nothing", "", "", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.servers != "" {
				writeIndex(t, dir, "servers", tt.servers)
			}
			if tt.clients != "" {
				writeIndex(t, dir, "clients", tt.clients)
			}
			var out, errb bytes.Buffer
			if code := run([]string{dir}, &out, &errb); code != tt.wantCode {
				t.Errorf("gate exited %d, want %d (stdout %q, stderr %q)", code, tt.wantCode, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
}
