// Command adversary attacks hybi's servers as a hostile peer would and
// soaks them with verified echo traffic; see package adversary and
// docs/reliability.md.
//
//	go run ./adversary/cmd/adversary            # every attack, every server
//	go run ./adversary/cmd/adversary -short     # the CI version
//	go run ./adversary/cmd/adversary -soak -conns 2000 -msgs 200
//	go run ./adversary/cmd/adversary -soak -duration 30m   # churning connections
//	go run ./adversary/cmd/adversary -mixed -conns 500 -msgs 100 -duration 30s   # mixed traffic, all four servers
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/hybi/websocket/adversary"
)

func main() {
	serve := flag.Bool("serve", false, "run a server under attack (used by the command itself)")
	loop := flag.Bool("loop", false, "with -serve: serve with a websocket.Loop")
	deflate := flag.Bool("deflate", false, "with -serve: accept permessage-deflate")
	short := flag.Bool("short", false, "smaller floods and a short soak, for CI")
	soak := flag.Bool("soak", false, "run only the soak")
	mixed := flag.Bool("mixed", false, "run only the mixed soak (fragments, pings, compression on and off, clients leaving midway) against all four servers")
	conns := flag.Int("conns", 2000, "soak: concurrent connections")
	msgs := flag.Int("msgs", 200, "soak: messages per connection")
	duration := flag.Duration("duration", 0, "soak: keep replacing finished connections until this much time has passed (0: one wave)")
	md := flag.String("md", "", "also write the attack table as Markdown to this file")
	only := flag.String("only", "", "soak: only this server, goroutine or loop")
	flag.Parse()

	if *serve {
		if err := adversary.Serve(adversary.ServerConfig{Loop: *loop, Compression: *deflate}); err != nil {
			fmt.Fprintln(os.Stderr, "adversary:", err)
			os.Exit(1)
		}
		return
	}
	bin, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "adversary:", err)
		os.Exit(1)
	}
	failed := 0
	if *mixed {
		rs, err := adversary.RunMixedSoak(bin, *conns, *msgs, *duration, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "adversary:", err)
			os.Exit(1)
		}
		for _, r := range rs {
			if r.Failed() != "" {
				failed++
			}
		}
		if failed > 0 {
			os.Exit(1)
		}
		return
	}
	if !*soak {
		start := time.Now()
		results, err := adversary.RunAttacks(bin, *short, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "adversary:", err)
			os.Exit(1)
		}
		passed := 0
		for _, r := range results {
			if r.Pass {
				passed++
			} else {
				failed++
			}
		}
		if *md != "" {
			if err := os.WriteFile(*md, []byte(adversary.Markdown(results)), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "adversary:", err)
				os.Exit(1)
			}
		}
		fmt.Printf("attacks: %d passed, %d failed (%v)\n", passed, failed, time.Since(start).Round(time.Second))
	}
	if *soak || *short {
		c, m := *conns, *msgs
		if *short && !*soak {
			c, m = 200, 20
		}
		rs, err := adversary.RunSoak(bin, c, m, *duration, *only, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "adversary:", err)
			os.Exit(1)
		}
		for _, r := range rs {
			if r.Lost > 0 || r.Corrupt > 0 || r.Errors > 0 {
				failed++
			}
		}
	}
	if *short && !*soak {
		// The mixed soak, one small wave against each server (a few
		// seconds in all).
		rs, err := adversary.RunMixedSoak(bin, 100, 20, 0, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "adversary:", err)
			os.Exit(1)
		}
		for _, r := range rs {
			if r.Failed() != "" {
				failed++
			}
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}
