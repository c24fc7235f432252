// Command gate fails unless every case in Autobahn reports is OK or
// INFORMATIONAL, in both behavior and behaviorClose.
//
//	go run ./autobahn/cmd/gate reports/
//
// It reads reports/servers/index.json and reports/clients/index.json (as
// the official testsuite and hybi's native runner write them) or an
// index.json in the directory itself.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hybi/websocket/autobahn"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: gate [reports-dir ...]\n\nFails unless every case is OK or INFORMATIONAL (behavior and behaviorClose).\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	dirs := flag.Args()
	if len(dirs) == 0 {
		dirs = []string{"reports"}
	}
	failed := false
	for _, d := range dirs {
		bad, err := autobahn.Gate(d)
		for _, b := range bad {
			fmt.Println("FAIL", b)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gate:", err)
			failed = true
		}
		if len(bad) > 0 {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	fmt.Println("gate: every case OK or INFORMATIONAL")
}
