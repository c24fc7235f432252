// Command hbfloor measures the kernel's floor under the heartbeat rows of
// docs/performance.md ("Idle connections with the heartbeat on"): the CPU
// one heartbeat ping costs a server that uses no WebSocket library at all
// (run.MeasureHBFloor: a write(2) of the Ping and a read(2) of the Pong
// per loopback socket, woken by epoll, in a tight loop). benchscale's idle
// section prints the same measurement as its "kernel floor" row.
//
//	cd bench && go run ./cmd/hbfloor -n 10000
//
// -batches lists how many sockets are pinged before their Pongs are read:
// by default all n at once, and n/16, the share of one heartbeat grid step
// (Options.PingInterval/16) that a Loop's pollers handle per tick.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hybi/websocket/bench/run"
)

func main() {
	run.MaybeChild()
	n := flag.Int("n", 10000, "connections")
	rounds := flag.Int("rounds", 10, "heartbeat rounds measured (after one warm-up round)")
	batches := flag.String("batches", "", "sockets pinged before their Pongs are read, comma-separated (default: n and n/16)")
	flag.Parse()
	log.SetFlags(0)
	run.RaiseFileLimit(1 << 17)
	bs := []int{*n, max(*n/16, 1)}
	if *batches != "" {
		bs = bs[:0]
		for _, f := range strings.Split(*batches, ",") {
			b, err := strconv.Atoi(f)
			if err != nil || b <= 0 {
				log.Fatalf("-batches: bad %q", f)
			}
			bs = append(bs, b)
		}
	}
	fmt.Printf("Kernel floor of one heartbeat round: %d loopback TCP connections, %d rounds, Go %s, load average %s\n\n", *n, *rounds, strings.TrimPrefix(runtime.Version(), "go"), loadavg())
	fmt.Printf("| Pinged per batch | pings | CPU (user + sys) | CPU / ping | wall / ping | reads / ping | epoll_wait / ping |\n|---|---|---|---|---|---|---|\n")
	for _, b := range bs {
		f, err := run.MeasureHBFloor(*n, *rounds, b)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("| %d | %d | %v | %v | %v | %.2f | %.3f |\n", f.Batch, f.Pings, f.CPU.Round(time.Millisecond),
			f.CPUPerPing().Round(100*time.Nanosecond), (f.Wall / time.Duration(f.Pings)).Round(100*time.Nanosecond),
			float64(f.Reads)/float64(f.Pings), float64(f.Waits)/float64(f.Pings))
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
