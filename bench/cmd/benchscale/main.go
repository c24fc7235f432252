// Command benchscale runs the scale rows of docs/performance.md (issue 18,
// and the slow-reader target of issue 15) in one bounded run and writes
// them as the section "At scale":
//
//	cd bench && go run ./cmd/benchscale -out ../docs/performance.md
//
// With -out, the section replaces what stands between the markers
// <!-- benchscale:begin --> and <!-- benchscale:end --> in that file, or is
// inserted before "## How the libraries are driven" (the hand-written notes
// that end the report of cmd/benchall) when the markers are absent, so that
// bench/run.sh can run benchall first and benchscale after it. Without -out
// the section goes to standard output.
//
// Rows: many busy connections (every library of lib.All, the server in a
// child process, the raw clients of package run in this one), one slow
// reader among the connections of a Loop, and idle connections with the
// heartbeat on. -quick is a smoke run of a few seconds for CI.
package main

import (
	"bytes"
	_ "embed"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hybi/websocket/bench/internal/mdreport"
	"github.com/hybi/websocket/bench/lib"
	"github.com/hybi/websocket/bench/run"
)

// notes.md is the hand-written end of the section: method and profiles.
//
//go:embed notes.md
var notes string

const (
	beginMark = "<!-- benchscale:begin -->"
	endMark   = "<!-- benchscale:end -->"
	notesHead = "## How the libraries are driven"
)

type config struct {
	out       string
	quick     bool
	rounds    int
	conns     []int
	sizes     []int
	msgs      int
	bigMsgs   int
	slowConns int
	idle      []int
	heartbeat time.Duration
	window    time.Duration
	only      string
	libs      string
	profile   string
	timeout   time.Duration
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	run.MaybeChild()
	var c config
	var conns, sizes, idle string
	flag.StringVar(&c.out, "out", "", "splice the section into this Markdown file (default: write it to standard output)")
	flag.BoolVar(&c.quick, "quick", false, "smoke run: tiny counts, seconds in total")
	flag.IntVar(&c.rounds, "rounds", 2, "rounds of the busy and slow-reader rows (libraries rotated within a round)")
	flag.StringVar(&conns, "conns", "1000,10000", "busy connections per library, comma-separated")
	flag.StringVar(&sizes, "sizes", "16,1024,16384", "busy payload sizes in bytes, comma-separated")
	flag.IntVar(&c.msgs, "msgs", 150000, "messages echoed per busy cell of at most 1 KiB (all connections together)")
	flag.IntVar(&c.bigMsgs, "bigmsgs", 50000, "messages echoed per busy cell above 1 KiB")
	flag.IntVar(&c.slowConns, "slowconns", 1000, "connections of the slow-reader row, the slow one included")
	flag.StringVar(&idle, "idle", "10000,19000", "idle connections with the heartbeat on, comma-separated")
	flag.DurationVar(&c.heartbeat, "heartbeat", 5*time.Second, "heartbeat interval of the idle rows")
	flag.DurationVar(&c.window, "window", 10*time.Second, "how long the idle rows' CPU is measured")
	flag.StringVar(&c.only, "only", "", "run only these sections, comma-separated: busy,slow,idle")
	flag.StringVar(&c.libs, "libs", "", "only these rows in the busy tables, comma-separated: libraries and the floors tcp, tcp-epoll, tcp-uring")
	flag.StringVar(&c.profile, "profile", "", "write a CPU profile of every child server into this directory")
	flag.DurationVar(&c.timeout, "timeout", 14*time.Minute, "give up (exit 1) when the whole run takes longer")
	flag.Parse()
	var err error
	if c.conns, err = ints(conns); err != nil {
		log.Fatalf("-conns: %v", err)
	}
	if c.sizes, err = ints(sizes); err != nil {
		log.Fatalf("-sizes: %v", err)
	}
	if c.idle, err = ints(idle); err != nil {
		log.Fatalf("-idle: %v", err)
	}
	if c.quick {
		c.rounds = 1
		c.conns = []int{50}
		c.msgs, c.bigMsgs = 500, 200
		c.slowConns = 20
		c.idle = []int{100}
		c.heartbeat = 200 * time.Millisecond
		c.window = 500 * time.Millisecond
	}
	log.SetFlags(log.Ltime)
	time.AfterFunc(c.timeout, func() { log.Fatalf("benchscale: run exceeded -timeout %v", c.timeout) })
	if c.profile != "" {
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			log.Fatal(err)
		}
		os.Setenv("HYBI_BENCH_PROFILE", c.profile)
	}
	// The children inherit the heartbeat interval.
	os.Setenv(lib.HeartbeatEnv, c.heartbeat.String())
	r := &report{cfg: c, start: time.Now(), loadStart: loadavg(), fileLimit: run.RaiseFileLimit(1 << 17)}
	if err := r.collect(); err != nil {
		log.Fatal(err)
	}
	r.end, r.loadEnd = time.Now(), loadavg()
	var b bytes.Buffer
	r.write(&b)
	if c.out == "" {
		os.Stdout.Write(b.Bytes())
		return
	}
	if err := splice(c.out, b.String()); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote the scale section of %s in %v", c.out, r.end.Sub(r.start).Round(time.Second))
}

// splice puts section between the markers of file, or before its notes
// heading, or at its end.
func splice(file, section string) error {
	return mdreport.Splice(file, beginMark, endMark, notesHead, section)
}

func (r *report) want(section string) bool { return mdreport.Wanted(r.cfg.only, section) }

// busyLibs are the rows of the busy table: the floors (run.BusyFloors),
// then the libraries; -libs keeps those it lists.
func (r *report) busyLibs() []string {
	n := slices.Clone(run.BusyFloors)
	for _, l := range lib.All() {
		n = append(n, l.Name)
	}
	if r.cfg.libs == "" {
		return n
	}
	return slices.DeleteFunc(n, func(name string) bool { return !slices.Contains(strings.Split(r.cfg.libs, ","), name) })
}

func (r *report) msgsFor(size int) int {
	if size > 1<<10 {
		return r.cfg.bigMsgs
	}
	return r.cfg.msgs
}

func (r *report) collect() error {
	if r.want("busy") {
		names := r.busyLibs()
		for round := range r.cfg.rounds {
			for _, n := range r.cfg.conns {
				for j := range names {
					name := names[(j+round)%len(names)]
					sizes := run.BusySizes(name, r.cfg.sizes)
					if len(sizes) == 0 {
						continue
					}
					ss, err := run.MeasureBusy(name, n, sizes, r.msgsFor)
					if err != nil {
						return fmt.Errorf("busy %s %d: %w", name, n, err)
					}
					for _, s := range ss {
						r.addBusy(name, s)
					}
				}
				log.Printf("busy round %d/%d, %d connections done", round+1, r.cfg.rounds, n)
			}
		}
	}
	if r.want("slow") {
		for round := range r.cfg.rounds {
			s, err := run.MeasureSlow(r.cfg.slowConns, 1<<10, r.cfg.msgs, time.Second)
			if err != nil {
				return fmt.Errorf("slow reader: %w", err)
			}
			r.slow = append(r.slow, s)
			log.Printf("slow reader round %d/%d done", round+1, r.cfg.rounds)
		}
	}
	if r.want("idle") {
		for _, n := range r.cfg.idle {
			for _, name := range hbNames {
				s, err := run.MeasureIdleHB(name, n, r.cfg.window)
				if err != nil {
					// Recorded, not fatal: a peer that cannot hold n
					// connections is a result.
					log.Printf("idle %s %d: %v", name, n, err)
					r.addHBErr(name, n, err)
					continue
				}
				r.addHB(name, s)
			}
			// The kernel's floor under these rows: no library, the
			// connections pinged one grid step's share at a time.
			if f, err := run.MeasureHBFloor(n, 10, max(n/16, 1)); err != nil {
				log.Printf("idle floor %d: %v", n, err)
				r.addHBErr(hbFloorName, n, err)
			} else {
				r.addHBFloor(f)
			}
			log.Printf("idle %d connections done", n)
		}
	}
	return nil
}

var hbNames = []string{"hybi-loop-hb", "hybi-hb", "nbio-hb", "gws-hb"}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (r *report) command() string {
	args := append([]string{"go", "run", "./cmd/benchscale"}, os.Args[1:]...)
	return "`cd bench && " + strings.Join(args, " ") + "`"
}

func cpus() string {
	return fmt.Sprintf("%d logical CPUs, GOMAXPROCS %d, %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
}

func kernelName() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return "Linux " + strings.TrimSpace(string(b))
}
