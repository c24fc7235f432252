package adversary

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"
)

// server is a server process under attack.
type server struct {
	cfg   ServerConfig
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ws    string
	stats string
}

// start runs bin (the adversary command) as a server: "bin -serve".
func start(bin string, cfg ServerConfig) (*server, error) {
	args := []string{"-serve"}
	if cfg.Loop {
		args = append(args, "-loop")
	}
	if cfg.Compression {
		args = append(args, "-deflate")
	}
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("server did not start: %w", err)
	}
	s := &server{cfg: cfg, cmd: cmd, stdin: stdin}
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "ws="); ok {
			s.ws = v
		}
		if v, ok := strings.CutPrefix(f, "stats="); ok {
			s.stats = v
		}
	}
	return s, nil
}

func (s *server) stop() {
	s.stdin.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// sampler follows the server's goroutines and resident memory.
type sampler struct {
	stop     chan struct{}
	done     chan struct{}
	peakG    int
	peakRSS  int64
	mu       sync.Mutex
	interval time.Duration
}

func (s *server) sample() *sampler {
	sm := &sampler{stop: make(chan struct{}), done: make(chan struct{}), interval: 20 * time.Millisecond}
	go func() {
		defer close(sm.done)
		for {
			g, err := stats(s.stats)
			cur := rss(s.cmd.Process.Pid)
			sm.mu.Lock()
			if err == nil { // a missed sample only lowers the peak seen
				sm.peakG = max(sm.peakG, g)
			}
			sm.peakRSS = max(sm.peakRSS, cur)
			sm.mu.Unlock()
			select {
			case <-sm.stop:
				return
			case <-time.After(sm.interval):
			}
		}
	}()
	return sm
}

func (sm *sampler) end() (int, int64) {
	close(sm.stop)
	<-sm.done
	return sm.peakG, sm.peakRSS
}

// Result is one row of the report.
type Result struct {
	Server, Attack string
	Want, Seen     string
	After          time.Duration // until the server answered (the slowest connection)
	BaseG, PeakG   int           // server goroutines before and at the peak
	BaseRSS        int64
	PeakRSS        int64
	Settled        bool // goroutines back near the base afterwards
	Pass           bool
	Why            string
}

// perConn is the most goroutines one connection may cost a server under
// attack: its reader (none on a Loop), a heartbeat timer firing, a flusher
// and a closing goroutine.
const perConn = 4

// RunAttacks runs every attack against every server configuration and
// writes one line per row to progress as it goes.
func RunAttacks(bin string, short bool, progress io.Writer) ([]Result, error) {
	var results []Result
	for _, cfg := range []ServerConfig{{}, {Compression: true}, {Loop: true}, {Loop: true, Compression: true}} {
		srv, err := start(bin, cfg)
		if err != nil {
			return results, err
		}
		for _, a := range attacks(short) {
			if a.deflate == 1 && !cfg.Compression || a.deflate == -1 && cfg.Compression {
				continue
			}
			r := runOne(srv, a)
			results = append(results, r)
			verdict := "PASS"
			if !r.Pass {
				verdict = "FAIL: " + r.Why
			}
			fmt.Fprintf(progress, "%-18s %-48s seen %-12s in %-7v goroutines %d→%d rss %s→%s  %s\n",
				cfg, a.name, r.Seen, r.After.Round(time.Millisecond), r.BaseG, r.PeakG, mib(r.BaseRSS), mib(r.PeakRSS), verdict)
		}
		srv.stop()
	}
	return results, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1fM", float64(b)/(1<<20)) }

func runOne(srv *server, a attack) Result {
	r := Result{Server: srv.cfg.String(), Attack: a.name, Want: a.want}
	// Settle first: the previous attack's connections are gone.
	r.BaseG = settle(srv, 0, 10*time.Second)
	r.BaseRSS = rss(srv.cmd.Process.Pid)
	sm := srv.sample()
	seen, after, err := a.run(srv.ws)
	r.After = after
	r.Seen = summarize(seen)
	time.Sleep(100 * time.Millisecond)
	r.PeakG, r.PeakRSS = sm.end()
	g := settle(srv, r.BaseG+5, 10*time.Second)
	r.Settled = g <= r.BaseG+5
	bound := r.BaseG + perConn*a.conns + 10
	rssBound := a.rssBound
	if rssBound == 0 {
		rssBound = 48 << 20
	}
	var why []string
	if err != nil {
		why = append(why, "attack error: "+err.Error())
	}
	if !matches(a.want, seen) {
		why = append(why, "want "+a.want)
	}
	if a.within > 0 && after > a.within {
		why = append(why, fmt.Sprintf("answered after %v, want within %v", after.Round(time.Millisecond), a.within))
	}
	if r.PeakG > bound {
		why = append(why, fmt.Sprintf("%d goroutines, want at most %d", r.PeakG, bound))
	}
	if r.PeakRSS > r.BaseRSS+rssBound {
		why = append(why, fmt.Sprintf("RSS grew by %s, want at most %s", mib(r.PeakRSS-r.BaseRSS), mib(rssBound)))
	}
	if !r.Settled {
		why = append(why, fmt.Sprintf("%d goroutines left after 10 s (base %d)", g, r.BaseG))
	}
	r.Pass = len(why) == 0
	r.Why = strings.Join(why, "; ")
	return r
}

// settle waits until the server has at most target goroutines (0: until
// the count stops falling) and returns the count.
func settle(srv *server, target int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	last := -1
	for {
		g, err := stats(srv.stats)
		if err == nil && (target > 0 && g <= target || target == 0 && g == last) {
			return g
		}
		if time.Now().After(deadline) {
			return g
		}
		last = g
		time.Sleep(200 * time.Millisecond)
	}
}

func matches(want string, seen []string) bool {
	if want == "any" {
		return true
	}
	if len(seen) == 0 {
		return false
	}
	for _, s := range seen {
		ok := false
		for _, w := range strings.Split(want, "|") {
			ok = ok || s == w
		}
		if !ok {
			return false
		}
	}
	return true
}

// summarize turns the connections' observations into "1009×8".
func summarize(seen []string) string {
	n := map[string]int{}
	for _, s := range seen {
		n[s]++
	}
	var parts []string
	for s, k := range n {
		if k == 1 {
			parts = append(parts, s)
		} else {
			parts = append(parts, fmt.Sprintf("%s×%d", s, k))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Markdown renders results as the table of docs/reliability.md.
func Markdown(results []Result) string {
	var b strings.Builder
	b.WriteString("| server | attack | want | seen | answered in | goroutines (base → peak) | RSS (base → peak) | verdict |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		v := "pass"
		if !r.Pass {
			v = "FAIL: " + r.Why
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %v | %d → %d | %s → %s | %s |\n", r.Server, r.Attack, r.Want, r.Seen,
			r.After.Round(time.Millisecond), r.BaseG, r.PeakG, mib(r.BaseRSS), mib(r.PeakRSS), v)
	}
	return b.String()
}
