// Command gate fails unless every case in Autobahn reports is OK or
// INFORMATIONAL, in both behavior and behaviorClose.
//
//	go run ./autobahn/cmd/gate reports/
//
// It reads reports/servers/index.json and reports/clients/index.json (as
// the official testsuite and hybi's native runner write them) or an
// index.json in the directory itself. NON-STRICT, UNIMPLEMENTED, UNCLEAN,
// WRONG CODE, FAILED BY CLIENT and FAILED all fail the gate.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hybi/websocket/autobahn"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: gate [reports-dir ...]\n\nFails unless every case is OK or INFORMATIONAL (behavior and behaviorClose).\nReads DIR/servers/index.json, DIR/clients/index.json or DIR/index.json.\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		dirs = []string{"reports"}
	}
	failed := false
	for _, d := range dirs {
		bad, err := autobahn.Gate(d)
		for _, b := range bad {
			fmt.Fprintln(stdout, "FAIL", b)
		}
		if err != nil {
			fmt.Fprintln(stderr, "gate:", err)
			failed = true
		}
		if len(bad) > 0 {
			failed = true
		}
	}
	if failed {
		return 1
	}
	fmt.Fprintln(stdout, "gate: every case OK or INFORMATIONAL")
	return 0
}
