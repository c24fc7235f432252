// Command echocost counts the kernel work of one echo round trip, per side:
// the read and write system calls, the context switches and the CPU time
// of the server (a child process, as in benchall's echo rows) and of the
// client (this process), each divided by the round trips made.
//
//	cd bench && go run ./cmd/echocost -libs hybi,gobwas,gws,coder,tcp -sizes 16,1024,65536 -rounds 3
//
// Rates on a shared machine move with its load (see the spreads of
// benchall's echo tables); these counts do not, so they show whether one
// library makes more system calls or wake-ups than another for the same
// round trip. Linux only: the counters come from /proc (io's syscr and
// syscw, which count every read- and write-like call, EAGAIN included;
// the voluntary and involuntary context switches of every thread; utime
// and stime). Each cell is the median over the rounds; the libraries'
// order is rotated each round, as in benchall.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hybi/websocket/bench/lib"
	"github.com/hybi/websocket/bench/run"
)

func main() {
	run.MaybeChild()
	libs := flag.String("libs", "hybi,gobwas,gws,coder,tcp", "libraries, comma-separated (tcp: the plain TCP echo floor)")
	sizes := flag.String("sizes", "16,1024,65536", "message sizes in bytes, comma-separated")
	rounds := flag.Int("rounds", 3, "samples per library and size")
	d := flag.Duration("d", time.Second, "duration of one sample")
	flag.Parse()
	if _, err := os.Stat("/proc/self/io"); err != nil {
		log.Fatal("echocost needs Linux's /proc/PID/io: ", err)
	}
	names := strings.Split(*libs, ",")
	fmt.Println("| size | library | round trips/s | server reads | server writes | server ctx switches | server CPU µs | client reads | client writes | client ctx switches | client CPU µs |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, f := range strings.Split(*sizes, ",") {
		size, err := strconv.Atoi(f)
		if err != nil {
			log.Fatal(err)
		}
		echos := make([]*run.Echo, len(names))
		pids := make([]int, len(names))
		for i, n := range names {
			e, pid, err := open(n, size)
			if err != nil {
				log.Fatalf("%s %d: %v", n, size, err)
			}
			echos[i], pids[i] = e, pid
		}
		res := make([][]sample, len(names))
		for r := range *rounds {
			for k := range names {
				i := (k + r) % len(names)
				s, err := measure(echos[i], pids[i], *d)
				if err != nil {
					log.Fatalf("%s %d: %v", names[i], size, err)
				}
				res[i] = append(res[i], s)
			}
		}
		for i, n := range names {
			m := func(f func(sample) float64) float64 {
				v := make([]float64, len(res[i]))
				for j, s := range res[i] {
					v[j] = f(s)
				}
				slices.Sort(v)
				return v[len(v)/2]
			}
			fmt.Printf("| %d B | %s | %.0f | %.2f | %.2f | %.2f | %.1f | %.2f | %.2f | %.2f | %.1f |\n", size, n,
				m(func(s sample) float64 { return s.rate }),
				m(func(s sample) float64 { return s.srv.reads }), m(func(s sample) float64 { return s.srv.writes }),
				m(func(s sample) float64 { return s.srv.switches }), m(func(s sample) float64 { return s.srv.cpu }),
				m(func(s sample) float64 { return s.cli.reads }), m(func(s sample) float64 { return s.cli.writes }),
				m(func(s sample) float64 { return s.cli.switches }), m(func(s sample) float64 { return s.cli.cpu }))
		}
		for _, e := range echos {
			e.Close()
		}
	}
}

// open starts name's echo server in a child and connects its client; it
// returns the child's process id too.
func open(name string, size int) (*run.Echo, int, error) {
	before := children()
	var e *run.Echo
	var err error
	if name == "tcp" {
		e, err = run.OpenTCPEcho(size)
	} else {
		l, ok := lib.ByName(name)
		if !ok {
			return nil, 0, fmt.Errorf("unknown library %q", name)
		}
		e, err = run.OpenEcho(l, false, size)
	}
	if err != nil {
		return nil, 0, err
	}
	for _, p := range children() {
		if !slices.Contains(before, p) {
			return e, p, nil
		}
	}
	e.Close()
	return nil, 0, errors.New("child process not found")
}

// children lists this process's child processes.
func children() []int {
	var out []int
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// counters are a process's totals so far, or (in sample) per round trip.
type counters struct {
	reads, writes, switches, cpu float64 // cpu in µs
}

type sample struct {
	rate     float64
	srv, cli counters
}

func measure(e *run.Echo, pid int, d time.Duration) (sample, error) {
	s0, c0, err := snapshot(pid)
	if err != nil {
		return sample{}, err
	}
	es, err := e.Run(d, 16)
	if err != nil {
		return sample{}, err
	}
	s1, c1, err := snapshot(pid)
	if err != nil {
		return sample{}, err
	}
	n := float64(es.RoundTrips + 20) // Run warms up with 20
	per := func(a, b counters) counters {
		return counters{(b.reads - a.reads) / n, (b.writes - a.writes) / n, (b.switches - a.switches) / n, (b.cpu - a.cpu) / n}
	}
	return sample{rate: es.MsgsPerSec(), srv: per(s0, s1), cli: per(c0, c1)}, nil
}

// snapshot reads the counters of the server (the child pid) and of the
// client (this process).
func snapshot(pid int) (srv, cli counters, err error) {
	if srv, err = read(strconv.Itoa(pid)); err != nil {
		return
	}
	cli, err = read("self")
	return
}

// read reads the counters of process p ("self" or a pid) from /proc.
func read(p string) (counters, error) {
	var c counters
	io, err := os.ReadFile("/proc/" + p + "/io")
	if err != nil {
		return c, err
	}
	for _, line := range strings.Split(string(io), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		x, _ := strconv.ParseFloat(v, 64)
		switch k {
		case "syscr":
			c.reads = x
		case "syscw":
			c.writes = x
		}
	}
	tasks, err := os.ReadDir("/proc/" + p + "/task")
	if err != nil {
		return c, err
	}
	for _, t := range tasks {
		st, err := os.ReadFile("/proc/" + p + "/task/" + t.Name() + "/status")
		if err != nil {
			continue // the thread exited
		}
		for _, line := range strings.Split(string(st), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				x, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				c.switches += x
			}
		}
	}
	stat, err := os.ReadFile("/proc/" + p + "/stat")
	if err != nil {
		return c, err
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return c, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	c.cpu = (ut + st) * 1e6 / clockTicks
	return c, nil
}

// clockTicks is USER_HZ, the unit of utime and stime: 100 on every Linux
// architecture Go supports.
const clockTicks = 100
