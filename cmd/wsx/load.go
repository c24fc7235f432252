package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
)

const loadUsage = `usage: wsx load [flags] URL

A load generator for an echo server. -c connections each send -n messages
of -size bytes (or keep sending for -duration), one at a time: each waits
for its echo, whose round trip is the latency. -rate caps the messages per
second over all connections. Progress goes to stderr every -progress (a live
counter on a terminal, a line otherwise); at the end wsx prints the counts,
throughput, latency percentiles (p50, p90, p99, max) and the errors grouped
by cause, or with -json one JSON object on stdout (what bench/ records for
its many-connection rows).

The counts add up: sent = received + lost, where a lost message is one
sent on a connection that then failed or gave no echo within
-reply-timeout. Ctrl-C stops early and prints the summary so far.

Exit status: 0 with no errors, 1 with any, 2 for bad usage.

Examples:
  wsx load -c 100 -n 1000 -size 64 ws://127.0.0.1:9001/
  wsx load -c 1000 -duration 30s -rate 20000 -json ws://127.0.0.1:9001/
  wsx load -c 10 -n 100 -size 65536 -compress ws://127.0.0.1:9001/

Flags:
`

// latencyHist is a log-linear histogram of microseconds shared by all
// connections: exact below 1024 µs, then 512 buckets per power of two
// (under 0.2% error), so memory does not grow with the message count.
type latencyHist struct {
	counts [1024 + 40*512]atomic.Uint64
	max    atomic.Int64
	n      atomic.Uint64
}

func histIndex(us int64) int {
	if us < 1024 {
		return int(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - 10 // us>>e is in [512, 1023]
	return 1024 + (e-1)*512 + int(us>>e) - 512
}

// histValue is the middle of bucket i, in microseconds.
func histValue(i int) float64 {
	if i < 1024 {
		return float64(i)
	}
	e := (i-1024)/512 + 1
	sub := (i-1024)%512 + 512
	return (float64(sub) + 0.5) * float64(int64(1)<<e)
}

func (h *latencyHist) add(d time.Duration) {
	us := d.Microseconds()
	i := min(histIndex(us), len(h.counts)-1)
	h.counts[i].Add(1)
	h.n.Add(1)
	for m := h.max.Load(); d.Nanoseconds() > m && !h.max.CompareAndSwap(m, d.Nanoseconds()); m = h.max.Load() {
	}
}

// quantile returns the q-quantile (0..1) in milliseconds.
func (h *latencyHist) quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(histValue(i)/1000, float64(h.max.Load())/1e6)
		}
	}
	return float64(h.max.Load()) / 1e6
}

// loadRun holds the counters of one run.
type loadRun struct {
	url          string
	opts         *websocket.DialOptions
	n            int
	duration     time.Duration
	size         int
	binary       bool
	replyTimeout time.Duration
	tokens       <-chan struct{} // nil: no rate limit

	connected, failed atomic.Int64
	sent, received    atomic.Int64
	lat               latencyHist

	mu     sync.Mutex
	errors map[string]int
}

func (r *loadRun) fail(cause string) {
	r.mu.Lock()
	r.errors[cause]++
	r.mu.Unlock()
}

// cause names an error for grouping: the close code and who closed, or
// the first line of a dial error.
func cause(stage string, err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		s := fmt.Sprintf("%s: closed by %s with %s", stage, ce.Initiator, ce.Code)
		if ce.Err != nil {
			s += ": " + ce.Err.Error()
		}
		return s
	}
	msg, _, _ := strings.Cut(dialError(err), "\n")
	return stage + ": " + msg
}

// conn runs one connection: dial, send and wait for each echo, close.
func (r *loadRun) conn(ctx context.Context, dials chan struct{}, end time.Time) {
	dials <- struct{}{}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, _, err := websocket.Dial(dctx, r.url, r.opts)
	cancel()
	<-dials
	if err != nil {
		r.failed.Add(1)
		if ctx.Err() == nil {
			r.fail(cause("dial", err))
		}
		return
	}
	r.connected.Add(1)
	typ := websocket.Text
	if r.binary {
		typ = websocket.Binary
	}
	payload := make([]byte, r.size)
	for i := range payload {
		payload[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[i%36]
	}
	var buf []byte
	for i := 0; ctx.Err() == nil && (r.duration > 0 && time.Now().Before(end) || r.duration <= 0 && i < r.n); i++ {
		if r.tokens != nil {
			select {
			case <-r.tokens:
			case <-ctx.Done():
				continue
			}
		}
		start := time.Now()
		if err := c.WriteMessage(typ, payload); err != nil {
			r.fail(cause("write", err))
			c.CloseNow()
			return
		}
		r.sent.Add(1)
		c.SetReadDeadline(start.Add(r.replyTimeout))
		_, msg, err := c.ReadMessage(buf[:0])
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			r.fail(fmt.Sprintf("read: no echo within %s", r.replyTimeout))
			c.CloseNow()
			return
		case err != nil:
			r.fail(cause("read", err))
			c.CloseNow()
			return
		case len(msg) != len(payload):
			r.fail(fmt.Sprintf("read: echo of %d bytes for %d sent", len(msg), len(payload)))
			c.CloseNow()
			return
		}
		r.lat.add(time.Since(start))
		r.received.Add(1)
		buf = msg
	}
	if err := c.Close(frame.CloseNormal, ""); err != nil {
		r.fail(cause("close", err))
	}
}

// loadSummary is the result, also the -json output.
type loadSummary struct {
	URL          string         `json:"url"`
	Connections  int            `json:"connections"`
	Connected    int64          `json:"connected"`
	DialFailed   int64          `json:"dial_failed"`
	Size         int            `json:"size"`
	Sent         int64          `json:"messages_sent"`
	Received     int64          `json:"messages_received"`
	Lost         int64          `json:"messages_lost"`
	Seconds      float64        `json:"seconds"`
	MsgsPerSec   float64        `json:"messages_per_second"`
	MBPerSec     float64        `json:"megabytes_per_second_each_way"`
	LatencyMsP50 float64        `json:"latency_ms_p50"`
	LatencyMsP90 float64        `json:"latency_ms_p90"`
	LatencyMsP99 float64        `json:"latency_ms_p99"`
	LatencyMsMax float64        `json:"latency_ms_max"`
	Errors       map[string]int `json:"errors"`
	Interrupted  bool           `json:"interrupted,omitempty"`
}

func runLoad(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("load", loadUsage, stderr)
	var cf clientFlags
	cf.register(fs, false)
	conns := fs.Int("c", 10, "connections")
	n := fs.Int("n", 100, "messages per connection")
	duration := fs.Duration("duration", 0, "send for this long instead of -n messages")
	size := fs.Int("size", 32, "payload bytes per message")
	rate := fs.Float64("rate", 0, "at most this many messages per second over all connections (0: no limit)")
	binary := fs.Bool("binary", false, "send binary messages (default text)")
	replyTimeout := fs.Duration("reply-timeout", 10*time.Second, "a connection whose echo takes longer fails")
	progress := fs.Duration("progress", time.Second, "progress interval on stderr (0: none)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object on stdout")
	pos, code, done := parseInterleaved(fs, args)
	if done {
		return code
	}
	usageErr := func(msg string) int {
		fmt.Fprintln(stderr, "wsx load:", msg)
		return exitUsage
	}
	switch {
	case len(pos) != 1:
		return usageErr("want one URL (wsx load -h)")
	case *conns < 1 || *conns > 1_000_000:
		return usageErr("-c: want 1 to 1000000 connections")
	case *n < 0 || *size < 0 || *size > 64<<20 || *rate < 0 || *duration < 0 || *replyTimeout <= 0:
		return usageErr("-n, -size (at most 64 MiB), -rate, -duration must not be negative, -reply-timeout must be positive")
	}
	if err := checkURL(pos[0]); err != nil {
		return usageErr(err.Error())
	}
	opts, err := cf.dialOptions()
	if err != nil {
		return usageErr(err.Error())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r := &loadRun{url: pos[0], opts: opts, n: *n, duration: *duration, size: *size, binary: *binary,
		replyTimeout: *replyTimeout, errors: make(map[string]int)}
	if *rate > 0 {
		tokens := make(chan struct{}, 256)
		r.tokens = tokens
		go func() {
			start := time.Now()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			var given int64
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-tick.C:
					for due := int64(now.Sub(start).Seconds() * *rate); given < due; given++ {
						select {
						case tokens <- struct{}{}:
						default:
							given = due // nobody is waiting: do not bank tokens
						}
					}
				}
			}
		}()
	}

	start := time.Now()
	end := start.Add(*duration)
	var wg sync.WaitGroup
	dials := make(chan struct{}, 64) // dials in flight
	for range *conns {
		wg.Go(func() { r.conn(ctx, dials, end) })
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	live := isTerminal(stderr)
	report := func() {
		el := time.Since(start).Seconds()
		r.mu.Lock()
		nerr := 0
		for _, v := range r.errors {
			nerr += v
		}
		r.mu.Unlock()
		line := fmt.Sprintf("%6.1fs connected %d/%d sent %d received %d errors %d (%.0f msg/s)",
			el, r.connected.Load(), *conns, r.sent.Load(), r.received.Load(), nerr, float64(r.received.Load())/el)
		if live {
			fmt.Fprintf(stderr, "\r%s\x1b[K", line)
		} else {
			fmt.Fprintln(stderr, line)
		}
	}
	var tick <-chan time.Time
	if *progress > 0 {
		t := time.NewTicker(*progress)
		defer t.Stop()
		tick = t.C
	}
wait:
	for {
		select {
		case <-tick:
			report()
		case <-finished:
			break wait
		}
	}
	if live && *progress > 0 {
		fmt.Fprintln(stderr)
	}
	el := time.Since(start).Seconds()
	s := loadSummary{
		URL: r.url, Connections: *conns, Connected: r.connected.Load(), DialFailed: r.failed.Load(), Size: *size,
		Sent: r.sent.Load(), Received: r.received.Load(), Seconds: el,
		LatencyMsP50: r.lat.quantile(0.50), LatencyMsP90: r.lat.quantile(0.90), LatencyMsP99: r.lat.quantile(0.99),
		LatencyMsMax: float64(r.lat.max.Load()) / 1e6, Errors: r.errors, Interrupted: ctx.Err() != nil,
	}
	s.Lost = s.Sent - s.Received
	s.MsgsPerSec = float64(s.Received) / el
	s.MBPerSec = s.MsgsPerSec * float64(*size) / 1e6
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(s)
	} else {
		printLoad(stdout, &s)
	}
	if len(s.Errors) > 0 {
		return exitFailed
	}
	return exitClean
}

func printLoad(w io.Writer, s *loadSummary) {
	fmt.Fprintf(w, "connections  %d connected, %d failed to connect (of %d)\n", s.Connected, s.DialFailed, s.Connections)
	fmt.Fprintf(w, "messages     %d sent, %d received, %d lost (%d bytes each)\n", s.Sent, s.Received, s.Lost, s.Size)
	fmt.Fprintf(w, "throughput   %.0f msg/s, %.2f MB/s each way over %.2fs\n", s.MsgsPerSec, s.MBPerSec, s.Seconds)
	fmt.Fprintf(w, "latency      p50 %.3fms  p90 %.3fms  p99 %.3fms  max %.3fms\n", s.LatencyMsP50, s.LatencyMsP90, s.LatencyMsP99, s.LatencyMsMax)
	if s.Interrupted {
		fmt.Fprintln(w, "interrupted  (Ctrl-C)")
	}
	if len(s.Errors) == 0 {
		fmt.Fprintln(w, "errors       none")
		return
	}
	causes := make([]string, 0, len(s.Errors))
	for c := range s.Errors {
		causes = append(causes, c)
	}
	sort.Slice(causes, func(i, j int) bool { return s.Errors[causes[i]] > s.Errors[causes[j]] })
	fmt.Fprintln(w, "errors")
	for _, c := range causes {
		fmt.Fprintf(w, "  %6d  %s\n", s.Errors[c], c)
	}
}
