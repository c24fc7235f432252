package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hybi/websocket/autobahn"
)

func TestHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run([]string{c.name, "-h"}, &out, &errb); code != 0 {
				t.Fatalf("wsx %s -h exited %d", c.name, code)
			}
			if !strings.Contains(errb.String(), "usage: wsx "+c.name) {
				t.Errorf("wsx %s -h printed %q, want a usage line", c.name, errb.String())
			}
		})
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-h"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "Examples:") {
		t.Errorf("wsx -h exited %d and printed %q, want examples", code, out.String())
	}
	for _, c := range []string{"connect", "serve", "proxy", "load"} {
		errb.Reset()
		run([]string{c, "-h"}, &out, &errb)
		if !strings.Contains(errb.String(), "Examples:\n  wsx "+c) {
			t.Errorf("wsx %s -h has no examples:\n%s", c, errb.String())
		}
	}
	if code := run([]string{"nope"}, &out, &errb); code != 2 {
		t.Errorf("unknown command exited %d, want 2", code)
	}
}

func TestConformanceBothRoles(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"conformance", "-cases", "1.1.*,2.*,3.1,5.19,6.3.1,6.4.4,7.5.1,7.13.1,10.1.1,12.1.1,13.7.1", "-report", dir}, &out, &errb)
	if code != 0 {
		t.Fatalf("wsx conformance exited %d:\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"role server", "role client", "28/28 cases OK or INFORMATIONAL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, role := range []string{"servers", "clients"} {
		idx, err := autobahn.ReadIndex(filepath.Join(dir, role, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(idx["hybi"]); n != 28 {
			t.Errorf("%s/index.json has %d cases for agent hybi, want 28", role, n)
		}
	}
	if bad, err := autobahn.Gate(dir); err != nil || len(bad) != 0 {
		t.Errorf("gate: %v %v", bad, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "servers", "index.md")); err != nil {
		t.Error(err)
	}
}

func TestConformanceRejectsBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"conformance", "-role", "sideways"}, &out, &errb); code != 2 {
		t.Errorf("bad -role exited %d, want 2", code)
	}
	if code := run([]string{"conformance", "-cases", "99.*"}, &out, &errb); code != 2 {
		t.Errorf("no matching case exited %d, want 2", code)
	}
	if code := run([]string{"conformance", "-role", "client", "-server-loop"}, &out, &errb); code != 2 {
		t.Errorf("-server-loop with -role client exited %d, want 2", code)
	}
}

// -server-loop tests the Loop-served echo server in the server role, and
// reports it as agent hybi-loop.
func TestConformanceServerLoop(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"conformance", "-role", "server", "-server-loop", "-cases", "1.1.*,2.*,4.2.5,5.19,6.4.4,7.5.1,9.1.1,12.1.1,13.7.1", "-report", dir}, &out, &errb)
	if code != 0 {
		t.Fatalf("wsx conformance -server-loop exited %d:\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"hybi's server with a websocket.Loop", "26/26 cases OK or INFORMATIONAL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	idx, err := autobahn.ReadIndex(filepath.Join(dir, "servers", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(idx["hybi-loop"]); n != 26 {
		t.Errorf("servers/index.json has %d cases for agent hybi-loop, want 26", n)
	}
	if bad, err := autobahn.Gate(dir); err != nil || len(bad) != 0 {
		t.Errorf("gate: %v %v", bad, err)
	}
}
