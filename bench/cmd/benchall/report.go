package main

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"math"
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

// notes.md is the hand-written part of the report: method details and what
// the profiles showed. It is appended as is.
//
//go:embed notes.md
var notes string

type echoKey struct {
	size    int
	deflate bool
}

type upKey struct {
	name string
	http bool
}

type report struct {
	cfg                config
	start, end         time.Time
	loadStart, loadEnd string
	fileLimit          uint64

	microRaw  string
	microRes  map[string][]benchResult
	benchstat string

	echoes   map[echoKey]map[string][]run.EchoSample
	upgrades map[upKey][]run.UpgradeSample
	idles    map[string][]run.IdleSample
	notes    map[string]string // "lib deflate" -> why absent

	idleReduced string
}

func (r *report) addEcho(k echoKey, name string, s run.EchoSample) {
	if r.echoes == nil {
		r.echoes = map[echoKey]map[string][]run.EchoSample{}
	}
	if r.echoes[k] == nil {
		r.echoes[k] = map[string][]run.EchoSample{}
	}
	r.echoes[k][name] = append(r.echoes[k][name], s)
}

func (r *report) addUpgrade(name string, http bool, s run.UpgradeSample) {
	if r.upgrades == nil {
		r.upgrades = map[upKey][]run.UpgradeSample{}
	}
	k := upKey{name, http}
	r.upgrades[k] = append(r.upgrades[k], s)
}

func (r *report) addIdle(name string, s run.IdleSample) {
	if r.idles == nil {
		r.idles = map[string][]run.IdleSample{}
	}
	r.idles[name] = append(r.idles[name], s)
}

func (r *report) note(name string, deflate bool, why string) {
	if r.notes == nil {
		r.notes = map[string]string{}
	}
	r.notes[fmt.Sprintf("%s %v", name, deflate)] = why
}

// benchResult is one line of go test -bench output.
type benchResult struct {
	nsop, mbs, bop, allocs float64
}

// parseBench reads go test -bench output into results per benchmark name
// (without the -GOMAXPROCS suffix).
func parseBench(out string) map[string][]benchResult {
	res := map[string][]benchResult{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		var b benchResult
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				b.nsop = v
			case "MB/s":
				b.mbs = v
			case "B/op":
				b.bop = v
			case "allocs/op":
				b.allocs = v
			}
		}
		res[name] = append(res[name], b)
	}
	return res
}

// stat is the median and spread of a sample set.
type stat struct {
	med, spread float64 // spread: (max-min)/median
	n           int
	ok          bool
}

func summarize(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	var med float64
	if len(s)%2 == 1 {
		med = s[len(s)/2]
	} else {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	sp := 0.0
	if med != 0 {
		sp = (s[len(s)-1] - s[0]) / med
	}
	return stat{med: med, spread: sp, n: len(s), ok: true}
}

func collectF[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func (r *report) micros(name string, f func(benchResult) float64) stat {
	return summarize(collectF(r.microRes[name], f))
}

func nsop(b benchResult) float64   { return b.nsop }
func allocs(b benchResult) float64 { return b.allocs }

// fmtDur formats nanoseconds.
func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	case ns >= 100:
		return fmt.Sprintf("%.0f ns", ns)
	}
	return fmt.Sprintf("%.2f ns", ns)
}

func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtCount(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	if v < 0.005 {
		return "0.00"
	}
	return fmt.Sprintf("%.2f", v)
}

func spread(s stat) string { return fmt.Sprintf("±%.0f%%", 100*s.spread/2) }

// ratio formats r = library cost / hybi cost (r > 1: hybi is better).
func ratio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return ""
	}
	return fmt.Sprintf("×%.2f", r)
}

func libNames() []string {
	var n []string
	for _, l := range lib.All() {
		n = append(n, l.Name)
	}
	return n
}

// microNames are the libraries of the in-memory upgrade table.
func microNames() []string {
	var n []string
	for _, name := range libNames() {
		if name != mdreport.LoopName {
			n = append(n, name)
		}
	}
	return n
}

func (r *report) command() string {
	args := []string{"go", "run", "./cmd/benchall"}
	if via := os.Getenv("BENCH_VIA"); via != "" && len(os.Args) >= 3 {
		// run.sh passes "-out ../docs/performance.md" first, then the
		// caller's arguments.
		return "`" + strings.TrimSpace(via+" "+strings.Join(os.Args[3:], " ")) + "`, that is `cd bench && " + strings.Join(append(args, os.Args[1:]...), " ") + "`"
	}
	args = append(args, os.Args[1:]...)
	return "`cd bench && " + strings.Join(args, " ") + "`"
}

func goVersion() string { return runtime.Version() }

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return "Linux " + strings.TrimSpace(string(b))
}

func (r *report) write(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Performance\n\n")
	p("Generated by `bench/cmd/benchall`; do not edit by hand (the last section, from `bench/cmd/benchall/notes.md`, is hand-written).\n\n")
	p("hybi against gorilla/websocket, coder/websocket, gobwas/ws, lxzan/gws and lesismal/nbio, each through its idiomatic fast path (adapters in `bench/lib`, one file per library), measured in the same run. **hybi-loop** is hybi's server on a `websocket.Loop` (epoll, no goroutine and no read buffer per idle connection) with hybi's blocking client: a row of its own in every socket table, compared with hybi like the peers, but never counted as a peer.\n\n")
	p("| | |\n|---|---|\n")
	p("| Command | %s |\n", r.command())
	p("| Machine | %s, %d logical CPUs, %s |\n", cpuModel(), runtime.NumCPU(), kernel())
	p("| Go | %s %s/%s, GOMAXPROCS %d |\n", goVersion(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	p("| Run | %s, %v, load average %s at the start and %s at the end |\n", r.start.UTC().Format("2006-01-02 15:04 MST"), r.end.Sub(r.start).Round(time.Second), r.loadStart, r.loadEnd)
	p("| Rounds | %d (micro and echo), %d (upgrade, idle); libraries rotated within each round |\n", r.cfg.rounds, min(r.cfg.rounds, 3))
	if busy(r.loadStart) || busy(r.loadEnd) {
		p("| Warning | **the machine was busy (1-minute load average above the number of CPUs): other processes competed for the CPUs, so treat the numbers as rough; the interleaving spreads the noise over all libraries alike, the spreads show how much there was** |\n")
	}
	if r.cfg.quick {
		p("| Mode | **-quick smoke run: numbers are not meaningful** |\n")
	}
	p("\nLibraries:\n\n")
	for _, l := range lib.All() {
		p("- **%s**: `%s`\n", l.Name, l.Module)
	}
	p("\nHow to read the tables: each cell is the **median** over the rounds; **±** is the spread, half of (max − min) / median; **×r** is the library's cost divided by hybi's (time, allocations, bytes; for rates, hybi's rate divided by the library's), so **r > 1 means hybi is better** and r < 1 means the library beats hybi.\n\n")

	r.writeTargets(p)
	r.writeSummary(p)
	r.writeMicro(p)
	r.writeEcho(p)
	r.writeUpgrade(p)
	r.writeIdle(p)
	if r.benchstat != "" {
		p("## benchstat\n\nThe microbenchmarks as benchstat summarises them (columns: library; ± is benchstat's 95%% confidence interval).\n\n```\n%s```\n\n", r.benchstat)
	}
	p("%s", notes)
}

type printer func(string, ...any)

func (r *report) echoStat(k echoKey, name string, f func(run.EchoSample) float64) stat {
	return summarize(collectF(r.echoes[k][name], f))
}

func msgs(s run.EchoSample) float64 { return s.MsgsPerSec() }

// bestPeer returns the peer with the highest (or lowest) median and it;
// hybi's own rows (hybi, hybi-loop) are not peers.
func bestPeer(names []string, get func(string) stat, higher bool) (string, stat) {
	best, bs := "", stat{}
	for _, n := range names {
		if mdreport.Ours(n) {
			continue
		}
		s := get(n)
		if !s.ok {
			continue
		}
		if !bs.ok || (higher && s.med > bs.med) || (!higher && s.med < bs.med) {
			best, bs = n, s
		}
	}
	return best, bs
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r *report) writeTargets(p printer) {
	if r.cfg.only != "" {
		return
	}
	p("## Targets of issue 9\n\n| Target | Measured | |\n|---|---|---|\n")
	// Masking vs copy.
	for _, sz := range []string{"1KiB", "4KiB", "16KiB"} {
		h := r.micros("BenchmarkMask/"+sz+"/lib=hybi", nsop)
		c := r.micros("BenchmarkMask/"+sz+"/lib=copy", nsop)
		if h.ok && c.ok {
			x := c.med / h.med
			p("| masking ≥ 0.9× copy at %s | %.2f× copy's throughput | %s |\n", sz, x, verdict(x >= 0.9))
		}
	}
	if h, g := r.micros("BenchmarkMask/125B/lib=hybi", nsop), r.micros("BenchmarkMask/125B/lib=gobwas", nsop); h.ok && g.ok {
		x := g.med / h.med
		p("| masking ≥ 1.3× the best peer at 125 B (gobwas: the only peer whose masking is exported) | %.2f× gobwas | %s |\n", x, verdict(x >= 1.3))
	}
	if h, c := r.micros("BenchmarkMaskedWrite/1MiB/lib=hybi", nsop), r.micros("BenchmarkMaskedWrite/1MiB/lib=coder", nsop); h.ok && c.ok {
		x := c.med / h.med
		p("| masked-frame write at 1 MiB ≥ 1.5× coder | %.2f× coder | %s |\n", x, verdict(x >= 1.5))
	}
	names := libNames()
	for _, size := range echoSizes {
		k := echoKey{size, false}
		if !r.echoStat(k, "hybi", msgs).ok {
			continue
		}
		// Both of hybi's server modes, against the same peers.
		var ms []modeResult
		if size <= 1<<10 {
			bn, bs := bestPeer(names, func(n string) stat { return r.echoStat(k, n, msgs) }, true)
			for _, name := range []string{mdreport.LoopName, "hybi"} {
				if h := r.echoStat(k, name, msgs); h.ok {
					x := h.med / bs.med
					ms = append(ms, modeResult{name, fmt.Sprintf("%s msg/s, %.2f×", fmtRate(h.med), x), x >= 1})
				}
			}
			m, v := modes(ms)
			p("| echo msgs/s ≥ best peer at %s (%s: %s msg/s) | %s | %s |\n", mdreport.Size(size), bn, fmtRate(bs.med), m, v)
			continue
		}
		g := r.echoStat(k, "gobwas", msgs)
		for _, name := range []string{mdreport.LoopName, "hybi"} {
			if h := r.echoStat(k, name, msgs); h.ok {
				x := h.med / g.med
				ms = append(ms, modeResult{name, fmt.Sprintf("%s msg/s, %.2f×", fmtRate(h.med), x), x >= 1.3})
			}
		}
		m, v := modes(ms)
		if f := r.echoStat(k, "tcp", msgs); f.ok {
			m += fmt.Sprintf("; the tcp floor (no WebSocket at all): %s msg/s, %.2f×", fmtRate(f.med), f.med/g.med)
		}
		p("| echo msgs/s ≥ 1.3× gobwas at %s (gobwas: %s msg/s) | %s | %s |\n", mdreport.Size(size), fmtRate(g.med), m, v)
	}
	worst := 0.0
	for _, size := range echoSizes {
		k := echoKey{size, false}
		worst = max(worst, r.echoStat(k, "hybi", func(s run.EchoSample) float64 { return s.ClientAllocs }).med,
			r.echoStat(k, "hybi", func(s run.EchoSample) float64 { return s.ServerAllocs }).med)
	}
	if r.echoes != nil {
		p("| 0 allocations per round trip on both sides at every size | at most %s per round trip (median, either side) | %s |\n", fmtCount(worst), verdict(worst < 0.01))
	}
	var idle []modeResult
	for _, name := range []string{mdreport.LoopName, "hybi"} {
		if s := r.idleStat(name, func(s run.IdleSample) float64 { return s.HeapStack }); s.ok {
			rs := r.idleStat(name, func(s run.IdleSample) float64 { return s.RSS })
			idle = append(idle, modeResult{name, fmt.Sprintf("%s heap+stacks, %s RSS", mdreport.Bytes(s.med), mdreport.Bytes(rs.med)), s.med <= 4096 && rs.med <= 4096})
		}
	}
	if len(idle) > 0 {
		m, v := modes(idle)
		p("| memory per idle connection ≤ 4 KB | %s | %s |\n", m, v)
	}
	var up []modeResult
	floor := r.upStat(upKey{"tcp", false}, func(s run.UpgradeSample) float64 { return s.Allocs })
	for _, name := range []string{mdreport.LoopName, "hybi"} {
		if s := r.upStat(upKey{name, false}, func(s run.UpgradeSample) float64 { return s.Allocs }); s.ok {
			up = append(up, modeResult{name, fmt.Sprintf("%.1f per connection", s.med), s.med <= 10})
		}
	}
	if len(up) > 0 {
		m, v := modes(up)
		mem := r.micros("BenchmarkUpgrade/raw/lib=hybi", allocs)
		if floor.ok {
			m += fmt.Sprintf("; the TCP floor (accept, our goroutine, a parked read) is %.1f", floor.med)
		}
		if mem.ok {
			m += "; the upgrade call alone in memory: " + fmtCount(mem.med)
		}
		p("| server upgrade over TCP ≤ 10 allocations (raw path) | %s | %s |\n", m, v)
	}
	p("\n")
}

// modeResult is how one of hybi's server modes fares against a target:
// hybi-loop (a websocket.Loop) or hybi (a goroutine per connection).
type modeResult struct {
	name     string
	measured string
	ok       bool
}

// modeLabel names a server mode in the targets table.
func modeLabel(name string) string {
	if name == mdreport.LoopName {
		return "hybi Loop"
	}
	return "goroutine per connection"
}

// modes formats the measurements of a target for each server mode and the
// verdict: met when some mode meets it, naming which.
func modes(ms []modeResult) (measured, verdict string) {
	var parts, met []string
	for _, m := range ms {
		parts = append(parts, modeLabel(m.name)+": "+m.measured)
		if m.ok {
			met = append(met, modeLabel(m.name))
		}
	}
	measured = strings.Join(parts, "; ")
	switch {
	case len(met) == 0:
		verdict = "**missed**"
	case len(met) == len(ms) && len(ms) > 1:
		verdict = "met by both"
	default:
		verdict = "met by " + strings.Join(met, " and ")
	}
	return measured, verdict
}

func (r *report) writeMicro(p printer) {
	if r.microRes == nil {
		return
	}
	p("## Masking\n\n`BenchmarkMask` in `bench/micro`: XOR a buffer in place with a 4-byte key, ns per call. `copy` (a plain `copy` of as many bytes between two buffers) is the limit. Only gobwas exports its masking (`ws.Cipher`); gorilla, coder, gws and nbio keep theirs unexported, and copying their code here is not allowed, so their masking shows up only inside the masked write below.\n\n")
	p("| Size | hybi | gobwas | copy | hybi GB/s | hybi vs copy |\n|---|---|---|---|---|---|\n")
	for _, sz := range []string{"16B", "125B", "1KiB", "4KiB", "16KiB", "64KiB", "1MiB"} {
		h := r.micros("BenchmarkMask/"+sz+"/lib=hybi", nsop)
		g := r.micros("BenchmarkMask/"+sz+"/lib=gobwas", nsop)
		c := r.micros("BenchmarkMask/"+sz+"/lib=copy", nsop)
		mbs := summarize(collectF(r.microRes["BenchmarkMask/"+sz+"/lib=hybi"], func(b benchResult) float64 { return b.mbs }))
		p("| %s | %s %s | %s %s %s | %s %s %s | %.1f | %.2f× |\n", sz, fmtNs(h.med), spread(h), fmtNs(g.med), spread(g), ratio(g.med/h.med),
			fmtNs(c.med), spread(c), ratio(c.med/h.med), mbs.med/1000, c.med/h.med)
	}
	p("\n## Frame header encode and decode\n\n`BenchmarkHeaderEncode`/`BenchmarkHeaderDecode`: a masked binary frame header with a 7-, 16- and 64-bit length. hybi: `frame.AppendHeader`/`frame.ParseHeader`; gobwas: `ws.WriteHeader` into a reused buffer / `ws.ReadHeader` from a `bytes.Reader`. The other libraries have no exported header codec.\n\n")
	p("| Header | hybi encode | gobwas encode | hybi decode | gobwas decode |\n|---|---|---|---|---|\n")
	for _, hn := range []string{"len=125", "len=1000", "len=1MiB"} {
		cell := func(op, l string) string {
			n := "BenchmarkHeader" + op + "/" + hn + "/lib=" + l
			s := r.micros(n, nsop)
			a := r.micros(n, allocs)
			h := r.micros("BenchmarkHeader"+op+"/"+hn+"/lib=hybi", nsop)
			rs := ""
			if l != "hybi" {
				rs = " " + ratio(s.med/h.med)
			}
			return fmt.Sprintf("%s %s%s, %s allocs", fmtNs(s.med), spread(s), rs, fmtCount(a.med))
		}
		p("| %s | %s | %s | %s | %s |\n", hn, cell("Encode", "hybi"), cell("Encode", "gobwas"), cell("Decode", "hybi"), cell("Decode", "gobwas"))
	}
	p("\n## Masked frame write (client)\n\n`BenchmarkMaskedWrite`: a client sends one binary message per iteration through its public write call (framing, masking with a fresh key, handing the bytes to the connection) to an in-memory connection that discards them, so sockets do not blur the difference. nbio's client needs its epoll engine and a real socket, so it is not in this row.\n\n")
	wl := []string{"hybi", "gorilla", "coder", "gobwas", "gws"}
	p("| Size |")
	for _, l := range wl {
		p(" %s |", l)
	}
	p("\n|---|")
	for range wl {
		p("---|")
	}
	p("\n")
	for _, sz := range []string{"16KiB", "1MiB"} {
		p("| %s |", sz)
		h := r.micros("BenchmarkMaskedWrite/"+sz+"/lib=hybi", nsop)
		for _, l := range wl {
			n := "BenchmarkMaskedWrite/" + sz + "/lib=" + l
			s := r.micros(n, nsop)
			a := r.micros(n, allocs)
			rs := ""
			if l != "hybi" {
				rs = " " + ratio(s.med/h.med)
			}
			p(" %s %s%s, %s allocs |", fmtNs(s.med), spread(s), rs, fmtCount(a.med))
		}
		p("\n")
	}
	p("\n")
}

func (r *report) writeEcho(p printer) {
	if r.echoes == nil {
		return
	}
	p("## Echo round trips over loopback TCP\n\nOne client connection sends a binary message and waits for the echo, as fast as it can, for %v per sample; the server runs in a child process (raw path where the library has one, else net/http). msgs/s counts round trips; MB/s is payload bytes one way. Allocations and bytes are per round trip on each side: the client (this process) and the server (the child), from `runtime.MemStats`. The **tcp** row is the floor: the same round trip over a plain TCP connection with no WebSocket framing or masking, one write per direction, in pieces of at most 1 MiB − 4 KiB as hybi does, since a single larger write halves loopback throughput on Linux, and io.ReadFull on the receiving side (the server child learns the size once, from an 8-byte prefix when the client connects).\n\n", r.cfg.echoTime)
	for _, deflate := range []bool{false, true} {
		sizes := echoSizes
		if deflate {
			sizes = []int{16 << 10}
			p("## permessage-deflate echo\n\nThe same with permessage-deflate, on 16 KiB of English-like text that compresses well: eight different texts from one vocabulary sent in turn, so that a compressor keeping its context (RFC 7692 §7.1.1) sees similar but never identical messages. Context takeover is used where the library offers it (hybi, hybi-loop, coder, gws: marked *takeover*); gorilla and nbio support only no_context_takeover, and gobwas's frame-level wsflate helpers compress each frame on its own, so those three compress every message from scratch, which costs more CPU and compresses less.\n\n")
		}
		for _, size := range sizes {
			k := echoKey{size, deflate}
			if _, ok := r.echoes[k]; !ok {
				continue
			}
			p("### %s\n\n| Library | msgs/s | MB/s | client allocs | client bytes | server allocs | server bytes |\n|---|---|---|---|---|---|---|\n", mdreport.Size(size))
			h := r.echoStat(k, "hybi", msgs)
			rows := libNames()
			if !deflate {
				rows = append([]string{"tcp"}, rows...)
			}
			for _, name := range rows {
				s := r.echoStat(k, name, msgs)
				if !s.ok {
					if name != "tcp" {
						p("| %s | %s | | | | | |\n", name, r.absent(name, deflate))
					}
					continue
				}
				rs := ""
				if name != "hybi" && name != "tcp" && h.ok {
					rs = " " + ratio(h.med/s.med)
				}
				ca := r.echoStat(k, name, func(s run.EchoSample) float64 { return s.ClientAllocs })
				cb := r.echoStat(k, name, func(s run.EchoSample) float64 { return s.ClientBytes })
				sa := r.echoStat(k, name, func(s run.EchoSample) float64 { return s.ServerAllocs })
				sb := r.echoStat(k, name, func(s run.EchoSample) float64 { return s.ServerBytes })
				label := name
				if deflate && lib.Takeover[name] {
					label += " (takeover)"
				}
				p("| %s | %s %s%s | %.1f | %s | %s | %s | %s |\n", label, fmtRate(s.med), spread(s), rs, s.med*float64(size)/1e6,
					fmtCount(ca.med), mdreport.Bytes(cb.med), fmtCount(sa.med), mdreport.Bytes(sb.med))
			}
			p("\n")
		}
	}
}

func (r *report) absent(name string, deflate bool) string {
	if why, ok := r.notes[fmt.Sprintf("%s %v", name, deflate)]; ok {
		if name == "hybi" && deflate {
			return "not measured: package deflate exists but is not wired into websocket.Conn yet (no option to negotiate it)"
		}
		return why
	}
	return "no data"
}

// writeUpgradeMicro is the in-memory upgrade table (BenchmarkUpgrade).
func (r *report) writeUpgradeMicro(p printer) {
	if r.microRes == nil {
		return
	}
	p("In memory (`BenchmarkUpgrade` in `bench/micro`): the library's upgrade call alone on an in-memory connection, up to its connection object, then closed; no socket, no accept, no goroutine of ours. Raw: the library reads and parses the request from the connection (gws: `http.ReadRequest` then `UpgradeFromConn`, as `gws.Server` does); net/http: the request already parsed by net/http (its cost is the same for everyone and left out), the connection hijacked. nbio upgrades only inside its engine or on a real TCP socket, so it appears only in the table above.\n\n")
	p("| Library | raw: time | raw: allocs | raw: bytes | net/http: time | net/http: allocs | net/http: bytes |\n|---|---|---|---|---|---|---|\n")
	for _, name := range microNames() {
		p("| %s |", name)
		for _, path := range []string{"raw", "http"} {
			n := "BenchmarkUpgrade/" + path + "/lib=" + name
			if len(r.microRes[n]) == 0 {
				p(" n/a | | |")
				continue
			}
			t := r.micros(n, nsop)
			a := r.micros(n, allocs)
			b := r.micros(n, func(b benchResult) float64 { return b.bop })
			h := r.micros("BenchmarkUpgrade/"+path+"/lib=hybi", nsop)
			ha := r.micros("BenchmarkUpgrade/"+path+"/lib=hybi", allocs)
			rt, ra := "", ""
			if name != "hybi" {
				rt, ra = " "+ratio(t.med/h.med), " "+ratio(a.med/ha.med)
			}
			p(" %s %s%s | %s%s | %s |", fmtNs(t.med), spread(t), rt, fmtCount(a.med), ra, mdreport.Bytes(b.med))
		}
		p("\n")
	}
	p("\n")
}

func (r *report) upStat(k upKey, f func(run.UpgradeSample) float64) stat {
	return summarize(collectF(r.upgrades[k], f))
}

func (r *report) writeUpgrade(p printer) {
	if r.upgrades == nil {
		if r.microRes != nil {
			p("## Upgrade cost\n\n")
			r.writeUpgradeMicro(p)
		}
		return
	}
	p("## Upgrade cost\n\nOver TCP: %d sequential handshakes per sample from a raw client that sends the same request bytes to every library and keeps each connection open; the server runs in a child process. Time is wall time per handshake seen by the client (connect, request, 101 response); allocations and bytes are the server's per connection, which include accepting the TCP connection, the library's upgrade, and its reader parked on the new connection. The **tcp** row is the floor: accept, read the head, write a fixed 101 (by hand, or through net/http with a hijack), and park a reader. Raw path: the library's own handshake on a net.Conn (hybi-loop: hybi's `Upgrade`, then `Loop.Add` instead of a reading goroutine; gws: `gws.Server`, which parses the request with `http.ReadRequest`; nbio: its nbhttp epoll engine); gorilla and coder have only the net/http path.\n\n", r.cfg.handshakes)
	p("| Library | raw: time | raw: allocs | raw: bytes | net/http: time | net/http: allocs | net/http: bytes |\n|---|---|---|---|---|---|---|\n")
	for _, name := range append([]string{"tcp"}, libNames()...) {
		p("| %s |", name)
		for _, http := range []bool{false, true} {
			k := upKey{name, http}
			if len(r.upgrades[k]) == 0 {
				p(" n/a | | |")
				continue
			}
			t := r.upStat(k, func(s run.UpgradeSample) float64 { return float64(s.PerUpg) })
			a := r.upStat(k, func(s run.UpgradeSample) float64 { return s.Allocs })
			b := r.upStat(k, func(s run.UpgradeSample) float64 { return s.AllocByte })
			h := r.upStat(upKey{"hybi", http}, func(s run.UpgradeSample) float64 { return float64(s.PerUpg) })
			ha := r.upStat(upKey{"hybi", http}, func(s run.UpgradeSample) float64 { return s.Allocs })
			rt, ra := "", ""
			if name != "hybi" && name != "tcp" && h.ok {
				rt, ra = " "+ratio(t.med/h.med), " "+ratio(a.med/ha.med)
			}
			p(" %s %s%s | %.1f%s | %s |", fmtNs(t.med), spread(t), rt, a.med, ra, mdreport.Bytes(b.med))
		}
		p("\n")
	}
	p("\n")
	r.writeUpgradeMicro(p)
}

func (r *report) idleStat(name string, f func(run.IdleSample) float64) stat {
	return summarize(collectF(r.idles[name], f))
}

func (r *report) writeIdle(p printer) {
	if r.idles == nil {
		return
	}
	n := 0
	for _, name := range append([]string{"tcp"}, libNames()...) {
		for _, s := range r.idles[name] {
			n = s.N
		}
	}
	p("## Many connections: memory per idle connection and broadcast\n\n%d connections per library, opened by raw clients (same request bytes for all) in this process, served by the library in a child process (raw path where it has one). Each server keeps a reader on every connection, as an application that can receive messages must (a goroutine per connection, or an event loop: hybi-loop's `websocket.Loop`, nbio's engine), and a registry to broadcast (hybi's servers: also a `websocket.Hub`, 80 bytes per member). Memory is the child's growth over the same server with no connections, after `debug.FreeOSMemory`, divided by the number of connections: heap in use + goroutine stacks (`runtime.MemStats`) and RSS (`/proc/self/statm`). Kernel socket buffers are not included. The **tcp** row is the floor (a parked goroutine on a bare TCP connection; its broadcast writes the 66-byte frame, built once, to every connection with one `Write` each from one goroutine, with no WebSocket code: one `write(2)` per connection is what every library here pays at least). Broadcast: the server writes a 64-byte binary message to every connection, each library with its own broadcast path (hybi and hybi-loop with a PreparedMessage and a `websocket.Hub`, which writes to every connection whose socket takes the frame at once from up to GOMAXPROCS goroutines, and queues the rest for a writer goroutine; gorilla with a PreparedMessage and coder with WriteMessage from one goroutine; gobwas with a precompiled frame from one goroutine; gws with its Broadcaster, which queues on every connection's write queue; nbio with WriteMessage from one goroutine, its writes never block), %d times per sample, each timed from the request until every client has read it (the clients are read from one goroutine with epoll, one `read(2)` per ready socket, so that their cost stays small beside the server's): the column is the median of those, then the median over rounds. **server CPU** is the child's user + system time over the %d broadcasts (`/proc/PID/stat`, 10 ms ticks) per broadcast: the library's own cost, much less sensitive than the wall time to what else runs on the machine. RLIMIT_NOFILE was raised to %d with setrlimit in each process.\n\n", n, run.BroadcastRepeats, run.BroadcastRepeats, r.fileLimit)
	if r.idleReduced != "" {
		p("%s\n\n", r.idleReduced)
	}
	p("| Library | heap + stacks | heap | stacks | RSS | broadcast to all | server CPU per broadcast |\n|---|---|---|---|---|---|---|\n")
	hm := r.idleStat("hybi", func(s run.IdleSample) float64 { return s.HeapStack })
	hr := r.idleStat("hybi", func(s run.IdleSample) float64 { return s.RSS })
	hb := r.idleStat("hybi", func(s run.IdleSample) float64 { return float64(s.Broadcast) })
	hc := r.idleStat("hybi", func(s run.IdleSample) float64 { return float64(s.BroadcastCPU) })
	for _, name := range append([]string{"tcp"}, libNames()...) {
		if len(r.idles[name]) == 0 {
			continue
		}
		m := r.idleStat(name, func(s run.IdleSample) float64 { return s.HeapStack })
		h := r.idleStat(name, func(s run.IdleSample) float64 { return s.Heap })
		st := r.idleStat(name, func(s run.IdleSample) float64 { return s.Stack })
		rs := r.idleStat(name, func(s run.IdleSample) float64 { return s.RSS })
		b := r.idleStat(name, func(s run.IdleSample) float64 { return float64(s.Broadcast) })
		cpu := r.idleStat(name, func(s run.IdleSample) float64 { return float64(s.BroadcastCPU) })
		rm, rr, rb, rc := "", "", "", ""
		if name != "hybi" && name != "tcp" {
			rm, rr, rb = " "+ratio(m.med/hm.med), " "+ratio(rs.med/hr.med), " "+ratio(b.med/hb.med)
			if hc.med > 0 {
				rc = " " + ratio(cpu.med/hc.med)
			}
		}
		bc, cc := "—", "—"
		if b.med > 0 {
			bc = fmt.Sprintf("%s %s%s", fmtNs(b.med), spread(b), rb)
			cc = fmt.Sprintf("%s%s", fmtNs(cpu.med), rc)
		}
		p("| %s | %s %s%s | %s | %s | %s %s%s | %s | %s |\n", name, mdreport.Bytes(m.med), spread(m), rm, mdreport.Bytes(h.med), mdreport.Bytes(st.med), mdreport.Bytes(rs.med), spread(rs), rr, bc, cc)
	}
	p("\n")
}

// busy reports whether a "/proc/loadavg"-style triple starts with a
// 1-minute load above the number of CPUs.
func busy(load string) bool {
	f := strings.Fields(load)
	if len(f) == 0 {
		return false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return err == nil && v > float64(runtime.NumCPU())
}

// summaryRow is one line of the summary: hybi's median against the best
// peer's; r > 1 means hybi is better.
type summaryRow struct {
	row, hybi, peer string
	r               float64
}

// bestCost picks, among the peers with data, the one whose cost is lowest
// (cost: lower is better, as ns or bytes) and returns hybi's ratio.
func bestCost(names []string, get func(string) stat, unit func(float64) string) (hybi, peer string, r float64, ok bool) {
	return bestCostFor("hybi", names, get, unit)
}

// bestCostFor is bestCost for one of hybi's rows, us (hybi or hybi-loop).
func bestCostFor(us string, names []string, get func(string) stat, unit func(float64) string) (hybi, peer string, r float64, ok bool) {
	h := get(us)
	bn, bs := bestPeer(names, get, false)
	if !h.ok || !bs.ok || h.med == 0 {
		return "", "", 0, false
	}
	return unit(h.med), fmt.Sprintf("%s %s", bn, unit(bs.med)), bs.med / h.med, true
}

func (r *report) writeSummary(p printer) {
	var rows []summaryRow
	add := func(row, h, peer string, x float64, ok bool) {
		if ok {
			rows = append(rows, summaryRow{row, h, peer, x})
		}
	}
	// both adds the row for hybi, then the same row for hybi-loop.
	both := func(row string, get func(string) stat, unit func(float64) string) {
		h, pe, x, ok := bestCostFor("hybi", libNames(), get, unit)
		add(row, h, pe, x, ok)
		h, pe, x, ok = bestCostFor(mdreport.LoopName, libNames(), get, unit)
		add(row+" (hybi Loop)", h, pe, x, ok)
	}
	if r.microRes != nil {
		for _, sz := range []string{"16B", "125B", "1KiB", "4KiB", "16KiB", "64KiB", "1MiB"} {
			h, pe, x, ok := bestCost([]string{"hybi", "gobwas"}, func(n string) stat { return r.micros("BenchmarkMask/"+sz+"/lib="+n, nsop) }, fmtNs)
			add("masking "+sz, h, pe, x, ok)
		}
		for _, op := range []string{"Encode", "Decode"} {
			for _, hn := range []string{"len=125", "len=1000", "len=1MiB"} {
				h, pe, x, ok := bestCost([]string{"hybi", "gobwas"}, func(n string) stat { return r.micros("BenchmarkHeader"+op+"/"+hn+"/lib="+n, nsop) }, fmtNs)
				add("header "+strings.ToLower(op)+" "+hn, h, pe, x, ok)
			}
		}
		for _, sz := range []string{"16KiB", "1MiB"} {
			h, pe, x, ok := bestCost([]string{"hybi", "gorilla", "coder", "gobwas", "gws"}, func(n string) stat { return r.micros("BenchmarkMaskedWrite/"+sz+"/lib="+n, nsop) }, fmtNs)
			add("masked write "+sz, h, pe, x, ok)
		}
		for _, path := range []string{"raw", "http"} {
			h, pe, x, ok := bestCost(microNames(), func(n string) stat { return r.micros("BenchmarkUpgrade/"+path+"/lib="+n, nsop) }, fmtNs)
			add("upgrade in memory, "+path+": time", h, pe, x, ok)
			h, pe, x, ok = bestCost(microNames(), func(n string) stat { return r.micros("BenchmarkUpgrade/"+path+"/lib="+n, allocs) }, fmtCount)
			add("upgrade in memory, "+path+": allocs", h, pe, x, ok)
		}
	}
	for _, k := range []echoKey{{16, false}, {1 << 10, false}, {64 << 10, false}, {1 << 20, false}, {16 << 10, true}} {
		if r.echoes[k] == nil {
			continue
		}
		// msgs/s: higher is better, so compare the time per round trip.
		h, pe, x, ok := bestCost(libNames(), func(n string) stat {
			return r.echoStat(k, n, func(s run.EchoSample) float64 { return 1 / s.MsgsPerSec() })
		}, func(v float64) string { return fmtRate(1/v) + " msg/s" })
		name := "echo " + mdreport.Size(k.size)
		if k.deflate {
			name = "deflate echo " + mdreport.Size(k.size)
		}
		add(name, h, pe, x, ok)
	}
	for _, http := range []bool{false, true} {
		path := "raw"
		if http {
			path = "net/http"
		}
		if r.upgrades == nil {
			break
		}
		both("upgrade over TCP, "+path+": time", func(n string) stat {
			return r.upStat(upKey{n, http}, func(s run.UpgradeSample) float64 { return float64(s.PerUpg) })
		}, fmtNs)
		both("upgrade over TCP, "+path+": allocs", func(n string) stat {
			return r.upStat(upKey{n, http}, func(s run.UpgradeSample) float64 { return s.Allocs })
		}, func(v float64) string { return fmt.Sprintf("%.1f", v) })
	}
	if r.idles != nil {
		both("idle connection: heap + stacks", func(n string) stat { return r.idleStat(n, func(s run.IdleSample) float64 { return s.HeapStack }) }, mdreport.Bytes)
		both("idle connection: RSS", func(n string) stat { return r.idleStat(n, func(s run.IdleSample) float64 { return s.RSS }) }, mdreport.Bytes)
		both("broadcast 64 B to all", func(n string) stat {
			return r.idleStat(n, func(s run.IdleSample) float64 { return float64(s.Broadcast) })
		}, fmtNs)
		both("broadcast 64 B to all: server CPU", func(n string) stat {
			return r.idleStat(n, func(s run.IdleSample) float64 { return float64(s.BroadcastCPU) })
		}, fmtNs)
	}
	if len(rows) == 0 {
		return
	}
	p("## Summary: hybi against the best peer on every row\n\n**r** is the best peer's cost divided by hybi's (for rates: hybi's rate divided by the best peer's); r ≥ 1 means hybi is at least as good as every peer on that row. hybi-loop is not a peer; rows marked *(hybi Loop)* put hybi-loop (hybi's server on a `websocket.Loop`) in hybi's column against the same peers.\n\n| Row | hybi | best peer | r | |\n|---|---|---|---|---|\n")
	for _, row := range rows {
		mark := "hybi ahead"
		if row.r < 1 {
			mark = "**peer ahead**"
		}
		p("| %s | %s | %s | %.2f | %s |\n", row.row, row.hybi, row.peer, row.r, mark)
	}
	p("\n")
}
