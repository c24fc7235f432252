package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hybi/websocket/autobahn"
)

// heavy reports whether a case moves bulk data (groups 9, 12 and 13):
// those run a few at a time so they cannot starve the timing-sensitive
// cases, which run first and many at once.
func heavy(c *autobahn.Case) bool {
	switch c.Group() {
	case "9", "12", "13":
		return true
	}
	return false
}

func split(cases []*autobahn.Case) (light, bulk []*autobahn.Case) {
	for _, c := range cases {
		if heavy(c) {
			bulk = append(bulk, c)
		} else {
			light = append(light, c)
		}
	}
	return light, bulk
}

type conformanceConfig struct {
	cases     []*autobahn.Case
	parallel  int // light cases at once
	bulk      int // heavy cases at once
	reportDir string
	// serverLoop makes role server test the echo server with a
	// websocket.Loop reading its connections (wsx serve -loop).
	serverLoop bool
	progress   io.Writer // failing cases as they finish (-v)
	status     io.Writer // a progress line every statusEvery
}

const statusEvery = 30 * time.Second

// ticker prints how many cases of a role are done every statusEvery until
// stop is called.
func ticker(w io.Writer, role string, total int, done *atomic.Int64) (stop func()) {
	if w == nil {
		return func() {}
	}
	t := time.NewTicker(statusEvery)
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-t.C:
				fmt.Fprintf(w, "  role %s: %d/%d cases done\n", role, done.Load(), total)
			case <-quit:
				return
			}
		}
	}()
	return func() { t.Stop(); close(quit); <-exited }
}

func listen() (net.Listener, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	return ln, &http.Server{ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}, nil
}

// testServerRole runs the fuzzing client against wsx's echo server, the
// Loop-served one with cfg.serverLoop (reported as agent hybi-loop).
func testServerRole(ctx context.Context, cfg conformanceConfig) (*autobahn.Report, error) {
	h, stopEcho, err := echoHandler(true, cfg.serverLoop)
	if err != nil {
		return nil, err
	}
	defer stopEcho()
	ln, srv, err := listen()
	if err != nil {
		return nil, err
	}
	srv.Handler = h
	go srv.Serve(ln)
	defer srv.Close()
	url := "ws://" + ln.Addr().String() + "/"
	agent := "hybi"
	if cfg.serverLoop {
		agent = "hybi-loop"
	}
	light, bulk := split(cfg.cases)
	rep := autobahn.NewReport()
	var done atomic.Int64
	defer ticker(cfg.status, "server", len(cfg.cases), &done)()
	progress := func(r *autobahn.Result) {
		done.Add(1)
		if cfg.progress != nil && !r.Passed() {
			fmt.Fprintf(cfg.progress, "server %s: %s/%s %s\n", r.ID, r.Behavior, r.BehaviorClose, r.Result)
		}
		rep.Add(r)
	}
	for _, b := range []struct {
		cases []*autobahn.Case
		n     int
	}{{light, cfg.parallel}, {bulk, cfg.bulk}} {
		if len(b.cases) == 0 {
			continue
		}
		if _, err := autobahn.RunClient(ctx, url, agent, b.cases, autobahn.Options{Concurrency: b.n, Progress: progress}); err != nil {
			return rep, err
		}
	}
	if cfg.reportDir != "" {
		if err := rep.Write(filepath.Join(cfg.reportDir, "servers")); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// testClientRole runs wsx's Autobahn client loop (hybi's client) against
// the fuzzing server.
func testClientRole(ctx context.Context, cfg conformanceConfig) (*autobahn.Report, error) {
	ln, srv, err := listen()
	if err != nil {
		return nil, err
	}
	out := ""
	if cfg.reportDir != "" {
		out = filepath.Join(cfg.reportDir, "clients")
	}
	f := autobahn.NewServer(ctx, cfg.cases, autobahn.Options{OutDir: out, Progress: func(r *autobahn.Result) {
		if cfg.progress != nil && !r.Passed() {
			fmt.Fprintf(cfg.progress, "client %s: %s/%s %s\n", r.ID, r.Behavior, r.BehaviorClose, r.Result)
		}
	}})
	srv.Handler = f
	go srv.Serve(ln)
	defer srv.Close()
	schedule := func(n int) []batch {
		light, bulk := batch{workers: cfg.parallel}, batch{workers: cfg.bulk}
		for i, c := range cfg.cases {
			if heavy(c) {
				bulk.cases = append(bulk.cases, i+1)
			} else {
				light.cases = append(light.cases, i+1)
			}
		}
		return []batch{light, bulk}
	}
	var done atomic.Int64
	defer ticker(cfg.status, "client", len(cfg.cases), &done)()
	err = autobahnClient(ctx, "ws://"+ln.Addr().String(), "hybi", true, schedule, func(int, int) { done.Add(1) })
	return f.Report(), err
}

func printSummary(w io.Writer, role string, rep *autobahn.Report) (total, pass int) {
	fmt.Fprintf(w, "\n%s\n", role)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\ttitle\tcases\tpass\tbehavior\tbehaviorClose\ttime")
	for _, a := range rep.Agents() {
		for _, g := range rep.Summary(a) {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%.1fs\n", g.Group, autobahn.GroupName(g.Group), g.Cases, g.Passed,
				counts(g.Behavior), counts(g.Close), float64(g.Millis)/1000)
			total += g.Cases
			pass += g.Passed
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "%d/%d cases OK or INFORMATIONAL\n", pass, total)
	for _, r := range rep.Failures() {
		fmt.Fprintf(w, "  FAIL %s: behavior %s, behaviorClose %s: %s / %s\n", r.ID, r.Behavior, r.BehaviorClose, r.Result, r.ResultClose)
	}
	return total, pass
}

func counts(m map[autobahn.Verdict]int) string {
	var parts []string
	for _, v := range []autobahn.Verdict{autobahn.OK, autobahn.NonStrict, autobahn.Informational, autobahn.Unimplemented,
		autobahn.Failed, autobahn.WrongCode, autobahn.Unclean, autobahn.FailedByClient} {
		if m[v] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", v, m[v]))
		}
	}
	return strings.Join(parts, ", ")
}

func runConformance(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	casesFlag := fs.String("cases", "*", "comma-separated case patterns (1.*,6.4.*,7.1.1)")
	exclude := fs.String("exclude", "", "comma-separated case patterns to leave out")
	role := fs.String("role", "both", "which side of hybi to test: server, client or both")
	serverLoop := fs.Bool("server-loop", false, "role server: test the echo server with a websocket.Loop reading its connections (wsx serve -loop)")
	report := fs.String("report", "", "write reports here (servers/ and clients/ with index.json, per-case JSON, index.md)")
	parallel := fs.Int("parallel", 16, "cases of groups 1-7 and 10 to run at once")
	bulk := fs.Int("bulk", 2*runtime.NumCPU(), "cases of groups 9, 12 and 13 to run at once")
	verbose := fs.Bool("v", false, "print each failing case as it finishes")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile to this file at the end of each role, while its report is held")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wsx conformance [-cases 1.*,6.*] [-role server|client|both] [-server-loop] [-report DIR]\n\n"+
			"Run the Autobahn testsuite's case catalogue (hybi's native runner) in-process\n"+
			"over loopback: the fuzzing client against wsx's echo server (role server) and\n"+
			"wsx's autobahn-client loop against the fuzzing server (role client). Prints a\n"+
			"summary per group and role and exits non-zero unless every case is OK or\n"+
			"INFORMATIONAL.\n\n"+
			"With -server-loop, role server tests the echo server of wsx serve -loop\n"+
			"instead: a websocket.Loop reads every connection and echoes in OnMessage,\n"+
			"with the same accept options (agent hybi-loop in the report). It needs\n"+
			"-role server or both; role client is unchanged.\n\n")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	cases := selectCases(*casesFlag, *exclude)
	if len(cases) == 0 {
		fmt.Fprintf(stderr, "wsx conformance: no case matches %q\n", *casesFlag)
		return 2
	}
	roles := map[string][]string{"server": {"server"}, "client": {"client"}, "both": {"server", "client"}}[*role]
	if roles == nil {
		fmt.Fprintf(stderr, "wsx conformance: -role must be server, client or both\n")
		return 2
	}
	if *serverLoop && *role == "client" {
		fmt.Fprintf(stderr, "wsx conformance: -server-loop tests the server role; use -role server or both\n")
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "wsx conformance:", err)
			return 1
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := conformanceConfig{cases: cases, parallel: max(*parallel, 1), bulk: max(*bulk, 1), reportDir: *report, serverLoop: *serverLoop, status: stdout}
	if *verbose {
		cfg.progress = stderr
	}
	start := time.Now()
	fmt.Fprintf(stdout, "wsx conformance: %d cases, roles %s\n", len(cases), strings.Join(roles, ", "))
	allPass := true
	for _, r := range roles {
		var rep *autobahn.Report
		var err error
		title := ""
		switch r {
		case "server":
			title = "role server: hybi's server (wsx serve's echo handler) tested by the fuzzing client"
			if *serverLoop {
				title = "role server: hybi's server with a websocket.Loop (wsx serve -loop's echo) tested by the fuzzing client"
			}
			rep, err = testServerRole(ctx, cfg)
		case "client":
			title = "role client: hybi's client (wsx autobahn-client's loop) tested by the fuzzing server"
			rep, err = testClientRole(ctx, cfg)
		}
		if err != nil {
			fmt.Fprintf(stderr, "wsx conformance: role %s: %v\n", r, err)
			allPass = false
		}
		if *memprofile != "" {
			if err := writeHeapProfile(*memprofile); err != nil {
				fmt.Fprintln(stderr, "wsx conformance:", err)
			}
		}
		if rep != nil {
			total, pass := printSummary(stdout, title, rep)
			if total != len(cases) || pass != total {
				allPass = false
			}
		}
	}
	if *report != "" {
		fmt.Fprintf(stdout, "\nreports in %s (gate: go run ./autobahn/cmd/gate %s)\n", *report, *report)
	}
	fmt.Fprintf(stdout, "done in %v\n", time.Since(start).Round(time.Second))
	if !allPass {
		return 1
	}
	return 0
}

// writeHeapProfile writes the live heap, after a collection, to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	runtime.GC() // the profile lags a cycle behind
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
