package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/hybi/websocket/autobahn"
)

// runFuzzingClient tests any ws:// server with the native runner.
func runFuzzingClient(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fuzzingclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	u := fs.String("url", "ws://127.0.0.1:9001", "URL of the WebSocket echo server to test")
	agent := fs.String("agent", "", "agent name in the report (default: the server's Server header)")
	casesFlag := fs.String("cases", "*", "comma-separated case patterns")
	exclude := fs.String("exclude", "", "comma-separated case patterns to leave out")
	report := fs.String("report", "reports", "write reports to DIR/servers")
	parallel := fs.Int("parallel", 1, "cases to run at once")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wsx fuzzingclient -url ws://host:port [-agent name] [-cases 1.*,6.*] [-report DIR]\n\n"+
			"Test any WebSocket echo server with hybi's native runner of the Autobahn\n"+
			"catalogue (the testsuite's fuzzingclient mode). Writes DIR/servers/index.json\n"+
			"in the testsuite's shape plus index.md, and exits non-zero unless every case\n"+
			"is OK or INFORMATIONAL.\n\n")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	cases := selectCases(*casesFlag, *exclude)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := autobahn.RunClient(ctx, *u, *agent, cases, autobahn.Options{Concurrency: max(*parallel, 1), OutDir: filepath.Join(*report, "servers")})
	if err != nil {
		fmt.Fprintln(stderr, "wsx fuzzingclient:", err)
		return 1
	}
	total, pass := printSummary(stdout, "server at "+*u, rep)
	if pass != total {
		return 1
	}
	return 0
}

// runFuzzingServer tests any client that follows the testsuite's client protocol.
func runFuzzingServer(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fuzzingserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on")
	casesFlag := fs.String("cases", "*", "comma-separated case patterns")
	exclude := fs.String("exclude", "", "comma-separated case patterns to leave out")
	report := fs.String("report", "reports", "write reports to DIR/clients on /updateReports")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wsx fuzzingserver [-addr host:port] [-cases 1.*,6.*] [-report DIR]\n\n"+
			"Serve the Autobahn testsuite's client protocol (GET /getCaseCount,\n"+
			"/runCase?case=N&agent=A, /updateReports?agent=A) with hybi's native runner, so\n"+
			"any WebSocket client can be tested. Reports go to DIR/clients.\n\n")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	cases := selectCases(*casesFlag, *exclude)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "wsx fuzzingserver:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	f := autobahn.NewServer(ctx, cases, autobahn.Options{OutDir: filepath.Join(*report, "clients")})
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(stdout, "wsx: fuzzing server on ws://%s/ with %d cases\n", ln.Addr(), len(cases))
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "wsx fuzzingserver:", err)
		return 1
	}
	return 0
}
