// Command wsx is hybi's command-line tool: an interactive client that
// traces frames, an echo server, the client
// driver for the Autobahn testsuite's fuzzing server, and the in-process
// conformance run of the Autobahn case catalogue against hybi itself.
//
//	wsx connect [-trace] [-H 'Name: value'] URL [MESSAGE...]
//	wsx serve -addr 127.0.0.1:9001 [-mode echo|broadcast] [-compress] [-loop] [-tls] [-trace]
//	wsx proxy [-trace] -listen 127.0.0.1:9002 ws://127.0.0.1:9001/
//	wsx load [-c 100] [-n 1000 | -duration 30s] [-size 64] [-rate 5000] [-json] ws://127.0.0.1:9001/
//	wsx decode [-role client|server] [-raw] [FILE]
//	wsx autobahn-client -url ws://127.0.0.1:9001 -agent hybi
//	wsx conformance [-cases 1.*,6.*] [-role server|client|both] [-server-loop] [-report DIR]
//	wsx fuzzingclient -url ws://host:port [-agent name] [-report DIR]
//	wsx fuzzingserver -addr host:port [-report DIR]
//
// The echo server reads with a goroutine per connection (ReadMessage, then
// WriteMessage), or, with serve -loop, with a websocket.Loop that echoes in
// OnMessage. conformance -server-loop tests the latter in the server role
// (agent hybi-loop), so that both read paths face the same catalogue.
//
// Every subcommand takes -h.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hybi/websocket/autobahn"
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"connect", "an interactive client: send lines, print messages, -trace every frame, report the close", runConnect},
	{"serve", "run a test server: echo (as the Autobahn testsuite expects) or broadcast, TLS, one log line per connection", runServe},
	{"proxy", "relay clients to a server, -trace every frame of both legs, report both legs' close", runProxy},
	{"load", "a load generator: N connections echoing M messages, latency percentiles, errors by cause, -json", runLoad},
	{"decode", "print and validate the frames of a captured byte stream (hex or raw)", runDecode},
	{"autobahn-client", "drive the Autobahn fuzzing server as a client (getCaseCount, runCase, updateReports)", runAutobahnClient},
	{"conformance", "run the Autobahn case catalogue in-process against hybi's server and client", runConformance},
	{"fuzzingclient", "test any ws:// echo server with the native Autobahn runner", runFuzzingClient},
	{"fuzzingserver", "serve the Autobahn client protocol to test any WebSocket client", runFuzzingServer},
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: wsx <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Examples:
  wsx serve -addr 127.0.0.1:9001                        an echo server, one log line per connection
  wsx connect -trace ws://127.0.0.1:9001/               type messages, see every frame and how it closed
  wsx connect ws://127.0.0.1:9001/ hi '/close 4000 bye'  a script: send, wait for the echo, close
  wsx proxy -trace -listen 127.0.0.1:9002 ws://127.0.0.1:9001/   watch a client you cannot change
  wsx load -c 100 -n 1000 ws://127.0.0.1:9001/          latency percentiles over 100 connections
  echo 818537fa213d7f9f4d5158 | wsx decode -role client  what is in a capture

Run 'wsx <command> -h' for a command's flags and examples; docs/wsx.md is
the guide, with real sessions.
`)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "wsx: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// parseFlags parses a subcommand's arguments. When done is true the
// subcommand returns code at once: 0 after -h, 2 for a bad flag (the flag
// package has already said why).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		return 0, true
	}
	return 2, true
}

// selectCases picks the catalogue's cases from comma-separated patterns.
func selectCases(patterns, exclude string) []*autobahn.Case {
	return autobahn.Select(strings.Split(patterns, ","), strings.Split(exclude, ","))
}
