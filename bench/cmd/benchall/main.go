// Command benchall runs every benchmark of docs/performance.md in one
// bounded run and writes the report:
//
//	cd bench && go run ./cmd/benchall -out ../docs/performance.md
//
// Microbenchmarks (package micro) run as a test binary built once and run
// -rounds times, every run going through all libraries in turn; benchstat
// summarises them when it is installed. The socket rows (package run) run
// every library's server in a child process, with the libraries' order
// rotated each round so that drift on a shared machine hits all alike.
// -quick is a smoke run of a few seconds for CI.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hybi/websocket/bench/internal/mdreport"
	"github.com/hybi/websocket/bench/lib"
	"github.com/hybi/websocket/bench/run"
)

type config struct {
	out        string
	quick      bool
	rounds     int
	echoTime   time.Duration
	microTime  string
	conns      int
	handshakes int
	profile    string
	only       string
	libs       string
	sizes      string
	timeout    time.Duration
}

func main() {
	run.MaybeChild()
	var c config
	flag.StringVar(&c.out, "out", "", "write the Markdown report to this file (default: standard output)")
	flag.BoolVar(&c.quick, "quick", false, "smoke run: tiny counts and durations, seconds in total")
	flag.IntVar(&c.rounds, "rounds", 6, "rounds of each measurement (libraries interleaved within a round)")
	flag.DurationVar(&c.echoTime, "echotime", 400*time.Millisecond, "duration of one echo sample")
	flag.StringVar(&c.microTime, "benchtime", "150ms", "-test.benchtime of one microbenchmark run")
	flag.IntVar(&c.conns, "conns", 10000, "idle connections per library")
	flag.IntVar(&c.handshakes, "handshakes", 1000, "handshakes per upgrade sample")
	flag.StringVar(&c.profile, "profile", "", "write CPU profiles of this process and of every child server into this directory")
	flag.StringVar(&c.only, "only", "", "run only these sections, comma-separated: micro,echo,deflate,upgrade,idle")
	flag.StringVar(&c.libs, "libs", "", "only these libraries in the socket rows, comma-separated (for profiling); the echo rows' tcp floor is kept only when tcp is listed")
	flag.StringVar(&c.sizes, "sizes", "", "only these echo sizes in bytes, comma-separated (for profiling)")
	flag.DurationVar(&c.timeout, "timeout", 14*time.Minute, "give up (exit 1) when the whole run takes longer")
	flag.Parse()
	if c.quick {
		c.rounds = 1
		c.echoTime = 5 * time.Millisecond
		c.microTime = "200x"
		c.conns = 200
		c.handshakes = 20
	}
	log.SetFlags(log.Ltime)
	// Bounded time: children exit when their standard input closes.
	time.AfterFunc(c.timeout, func() { log.Fatalf("benchall: run exceeded -timeout %v", c.timeout) })
	limit := run.RaiseFileLimit(1 << 17)
	if c.profile != "" {
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			log.Fatal(err)
		}
		os.Setenv("HYBI_BENCH_PROFILE", c.profile)
		f, err := os.Create(filepath.Join(c.profile, "driver.pprof"))
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	r := &report{cfg: c, start: time.Now(), fileLimit: limit, loadStart: loadavg()}
	if err := r.collect(); err != nil {
		log.Fatal(err)
	}
	r.end = time.Now()
	r.loadEnd = loadavg()
	var b bytes.Buffer
	r.write(&b)
	if c.out == "" {
		os.Stdout.Write(b.Bytes())
		return
	}
	if err := os.WriteFile(c.out, b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s in %v", c.out, r.end.Sub(r.start).Round(time.Second))
}

func (r *report) want(section string) bool { return mdreport.Wanted(r.cfg.only, section) }

func (r *report) collect() error {
	if r.want("micro") {
		log.Print("microbenchmarks")
		if err := r.micro(); err != nil {
			return fmt.Errorf("micro: %w", err)
		}
	}
	if r.want("echo") {
		log.Print("echo")
		if err := r.echo(false); err != nil {
			return fmt.Errorf("echo: %w", err)
		}
	}
	if r.want("deflate") {
		log.Print("deflate echo")
		if err := r.echo(true); err != nil {
			return fmt.Errorf("deflate: %w", err)
		}
	}
	if r.want("upgrade") {
		log.Print("upgrade")
		if err := r.upgrade(); err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
	}
	if r.want("idle") {
		log.Print("idle connections")
		if err := r.idle(); err != nil {
			return fmt.Errorf("idle: %w", err)
		}
	}
	return nil
}

// micro builds the micro test binary once and runs it rounds times.
func (r *report) micro() error {
	dir, err := os.MkdirTemp("", "benchall")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "micro.test")
	if out, err := exec.Command("go", "test", "-c", "-o", bin, "./micro").CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c: %v\n%s", err, out)
	}
	var all bytes.Buffer
	for i := range r.cfg.rounds {
		log.Printf("  micro round %d/%d", i+1, r.cfg.rounds)
		cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", ".", "-test.benchtime", r.cfg.microTime, "-test.count", "1")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		all.Write(out)
	}
	r.microRaw = all.String()
	r.microRes = parseBench(r.microRaw)
	if bs := findBenchstat(); bs != "" {
		f := filepath.Join(dir, "micro.txt")
		os.WriteFile(f, all.Bytes(), 0o644)
		out, err := exec.Command(bs, "-col", "/lib", f).CombinedOutput()
		if err != nil {
			out, _ = exec.Command(bs, f).CombinedOutput()
		}
		r.benchstat = string(out)
	}
	return nil
}

func findBenchstat() string {
	if p, err := exec.LookPath("benchstat"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "bin", "benchstat")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

var echoSizes = []int{16, 1 << 10, 64 << 10, 1 << 20}

// echo measures round trips on one connection per library and size; with
// deflate, 16 KiB of text with permessage-deflate.
func (r *report) echo(deflate bool) error {
	sizes := echoSizes
	if r.cfg.sizes != "" {
		sizes = nil
		for _, f := range strings.Split(r.cfg.sizes, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				return err
			}
			sizes = append(sizes, n)
		}
	}
	if deflate {
		sizes = []int{16 << 10}
	}
	names := r.echoNames(deflate)
	for _, size := range sizes {
		echos := make([]*run.Echo, len(names))
		for i, name := range names {
			e, err := openEcho(name, deflate, size)
			if errors.Is(err, lib.ErrUnsupported) {
				r.note(name, deflate, "not supported")
				continue
			}
			if err != nil {
				return fmt.Errorf("%s %d: %w", name, size, err)
			}
			if err := e.Check(); err != nil {
				e.Close()
				return fmt.Errorf("%s %d: %w", name, size, err)
			}
			echos[i] = e
		}
		key := echoKey{size, deflate}
		for round := range r.cfg.rounds {
			for _, i := range echoOrder(len(names), round, size) {
				if echos[i] == nil {
					continue
				}
				s, err := echos[i].Run(r.cfg.echoTime, 16)
				if err != nil {
					return fmt.Errorf("%s %d: %w", names[i], size, err)
				}
				r.addEcho(key, names[i], s)
			}
		}
		for _, e := range echos {
			if e != nil {
				e.Close()
			}
		}
		log.Printf("  echo %d B deflate=%v done", size, deflate)
	}
	return nil
}

// echoOrder is the order of the n libraries in echo round round of the
// rows of size bytes: a permutation drawn from a generator seeded with
// both, so that runs repeat it. A sample runs faster right after a CPU-hungry one on a small
// VM (idle virtual CPUs wake slowly), so a fixed cyclic order, only
// rotated, would always put the same library behind the same neighbour:
// shuffled, each follows every other about equally often.
func echoOrder(n, round, size int) []int {
	return rand.New(rand.NewPCG(uint64(round), uint64(size))).Perm(n)
}

// echoNames returns the rows of an echo table, in the order of the first
// round: the tcp floor first (plain echo only: there is no deflate without
// WebSocket), unless -libs leaves it out, then the libraries -libs selects.
func (r *report) echoNames(deflate bool) []string {
	var n []string
	if !deflate && (r.cfg.libs == "" || slices.Contains(strings.Split(r.cfg.libs, ","), "tcp")) {
		n = append(n, "tcp")
	}
	for _, l := range r.libs() {
		n = append(n, l.Name)
	}
	return n
}

// openEcho opens an echo connection to name: a library, or "tcp" for the
// floor.
func openEcho(name string, deflate bool, size int) (*run.Echo, error) {
	if name == "tcp" {
		if deflate {
			return nil, lib.ErrUnsupported
		}
		return run.OpenTCPEcho(size)
	}
	l, ok := lib.ByName(name)
	if !ok {
		return nil, fmt.Errorf("unknown library %q", name)
	}
	return run.OpenEcho(l, deflate, size)
}

// libs returns the libraries selected by -libs.
func (r *report) libs() []lib.Lib {
	var out []lib.Lib
	for _, l := range lib.All() {
		if r.cfg.libs == "" || slices.Contains(strings.Split(r.cfg.libs, ","), l.Name) {
			out = append(out, l)
		}
	}
	return out
}

func (r *report) allNames() []string {
	n := []string{"tcp"}
	for _, l := range r.libs() {
		n = append(n, l.Name)
	}
	return n
}

func (r *report) upgrade() error {
	names := r.allNames()
	rounds := min(r.cfg.rounds, 3)
	for round := range rounds {
		for j := range names {
			name := names[(j+round)%len(names)]
			for _, http := range []bool{false, true} {
				s, err := run.MeasureUpgrade(name, http, r.cfg.handshakes)
				if errors.Is(err, lib.ErrUnsupported) {
					continue
				}
				if err != nil {
					return fmt.Errorf("%s http=%v: %w", name, http, err)
				}
				r.addUpgrade(name, http, s)
			}
		}
		log.Printf("  upgrade round %d/%d done", round+1, rounds)
	}
	return nil
}

func (r *report) idle() error {
	names := r.allNames()
	rounds := min(r.cfg.rounds, 3)
	n := r.cfg.conns
	for round := range rounds {
		for j := range names {
			name := names[(j+round)%len(names)]
			s, err := run.MeasureIdle(name, n)
			for err != nil && n > 1000 {
				// The machine refused (file descriptors, ports):
				// fewer connections, for every library alike.
				log.Printf("  idle %s at %d connections: %v; retrying with %d", name, n, err, n/2)
				n /= 2
				r.idleReduced = fmt.Sprintf("%d connections were asked for; the machine refused (%v), so every library ran with %d or fewer.", r.cfg.conns, err, n)
				s, err = run.MeasureIdle(name, n)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			r.addIdle(name, s)
		}
		log.Printf("  idle round %d/%d done", round+1, rounds)
	}
	return nil
}

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

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
