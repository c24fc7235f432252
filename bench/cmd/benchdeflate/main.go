// Command benchdeflate measures what an idle connection holds for each
// negotiated permessage-deflate mode (issue 14): N client/server pairs over
// loopback, each pair exchanging a few JSON text messages both ways, then
// idle. The server and the client run in two child processes of their own,
// so each side's RSS is its own and 10,000 pairs fit under a file limit of
// 20,000 (each process holds one end of every pair):
//
//	cd bench && go run ./cmd/benchdeflate -out ../docs/performance.md
//
// For every mode it reports, per connection and per side, the heap in use
// (Conn, compressor, inflater, the socket's Go-side objects) and the RSS
// (the heap plus one parked reader goroutine's stack per connection, and
// what the runtime has not returned) after a GC, both measured against the
// same process before its first connection. Rounds rotate the modes and
// the table gives medians. With -out, the section replaces what stands
// between <!-- benchdeflate:begin --> and <!-- benchdeflate:end --> in that
// file, or is appended at its end. -quick is a CI smoke run of a few
// seconds.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/bench/internal/mdreport"
	"github.com/hybi/websocket/bench/run"
	"github.com/hybi/websocket/deflate"
)

const (
	roleEnv   = "HYBI_DEFLATE_ROLE" // "server" or "client": run as that child
	beginMark = "<!-- benchdeflate:begin -->"
	endMark   = "<!-- benchdeflate:end -->"
)

// A mode is one negotiated configuration: the server's policy (the client
// always sends deflate.DefaultOffers, `permessage-deflate;
// client_max_window_bits`, as browsers do).
type mode struct {
	name string
	on   bool
	srv  *deflate.Server
}

var modes = []mode{
	{"off", false, nil},
	{"takeover both ways, 15 bits", true, nil},
	{"takeover both ways, 12 bits", true, &deflate.Server{ServerMaxWindowBits: 12, ClientMaxWindowBits: 12}},
	{"takeover both ways, 9 bits", true, &deflate.Server{ServerMaxWindowBits: 9, ClientMaxWindowBits: 9}},
	{"server no takeover, client takeover", true, &deflate.Server{ServerNoContextTakeover: true}},
	{"server takeover, client no takeover", true, &deflate.Server{ClientNoContextTakeover: true}},
	{"no takeover either way", true, &deflate.Server{ServerNoContextTakeover: true, ClientNoContextTakeover: true}},
}

func modeByName(s string) (mode, error) {
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= len(modes) {
		return mode{}, fmt.Errorf("no mode %q", s)
	}
	return modes[i], nil
}

// stats is one side's memory, read after a GC that returns freed memory.
type stats struct {
	Heap  uint64 // runtime.MemStats.HeapInuse
	Stack uint64 // runtime.MemStats.StackInuse
	RSS   uint64 // /proc/self/statm
	Conns int64
}

func readStats() stats {
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return stats{Heap: m.HeapInuse, Stack: m.StackInuse, RSS: run.RSS()}
}

// jsonMessages returns n chat-like JSON text messages of about size bytes.
func jsonMessages(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		var b []byte
		for j := 0; len(b) < size; j++ {
			b = fmt.Appendf(b, `{"user":"user%d","room":"general","text":"message %d of %d","ts":%d}`+"\n", j%37, i, j, 1733400000000+i*1000+j)
		}
		out[i] = b
	}
	return out
}

func main() {
	if role := os.Getenv(roleEnv); role != "" {
		var err error
		switch role {
		case "server":
			err = serveChild()
		case "client":
			err = clientChild()
		default:
			err = fmt.Errorf("unknown role %q", role)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchdeflate child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	var c config
	flag.StringVar(&c.out, "out", "", "splice the section into this Markdown file (default: standard output)")
	flag.IntVar(&c.conns, "conns", 10000, "connection pairs per mode")
	flag.IntVar(&c.msgs, "msgs", 3, "messages each way per pair before it goes idle")
	flag.IntVar(&c.size, "size", 2<<10, "bytes per message (JSON text)")
	flag.IntVar(&c.rounds, "rounds", 2, "rounds over all modes (rotated); the table gives medians")
	flag.BoolVar(&c.quick, "quick", false, "smoke run: 200 pairs, one round, a few seconds")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up (exit 1) when the whole run takes longer")
	flag.Parse()
	if c.quick {
		c.conns, c.rounds = 200, 1
	}
	log.SetFlags(log.Ltime)
	time.AfterFunc(c.timeout, func() { log.Fatalf("benchdeflate: run exceeded -timeout %v", c.timeout) })
	start := time.Now()
	res := make([][]result, len(modes))
	for round := range c.rounds {
		for j := range modes {
			i := (j + round) % len(modes)
			r, err := measure(i, c)
			if err != nil {
				log.Fatalf("%s: %v", modes[i].name, err)
			}
			log.Printf("round %d %-36s server %s heap %s RSS, client %s heap %s RSS per conn (%v)", round+1, modes[i].name,
				mdreport.Bytes(r.srvHeap), mdreport.Bytes(r.srvRSS), mdreport.Bytes(r.cliHeap), mdreport.Bytes(r.cliRSS), r.took.Round(time.Millisecond))
			res[i] = append(res[i], r)
		}
	}
	var b bytes.Buffer
	write(&b, c, res, time.Since(start))
	if c.out == "" {
		os.Stdout.Write(b.Bytes())
		return
	}
	if err := splice(c.out, b.String()); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote the deflate memory section of %s in %v", c.out, time.Since(start).Round(time.Second))
}

type config struct {
	out     string
	conns   int
	msgs    int
	size    int
	rounds  int
	quick   bool
	timeout time.Duration
}

type result struct {
	srvHeap, srvRSS, srvStack float64 // per connection
	cliHeap, cliRSS, cliStack float64
	response                  string // Sec-WebSocket-Extensions of the 101
	took                      time.Duration
}

// child is a running child process and its line-oriented pipes.
type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startChild(env ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
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
	return &child{cmd: cmd, in: in, out: bufio.NewScanner(out)}, nil
}

// line returns the child's next line, failing if it ends first.
func (c *child) line() (string, error) {
	if c.out.Scan() {
		return c.out.Text(), nil
	}
	if err := c.out.Err(); err != nil {
		return "", err
	}
	return "", errors.New("child ended")
}

// mem asks the child for its memory once every connection is idle, or at
// once (cmd "base"), and decodes the answer.
func (c *child) mem(cmd string) (stats, error) {
	var s stats
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return s, err
	}
	l, err := c.line()
	if err != nil {
		return s, err
	}
	err = json.Unmarshal([]byte(strings.TrimPrefix(l, "mem ")), &s)
	return s, err
}

// stop closes the child's stdin, which ends it, and waits.
func (c *child) stop() {
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// measure runs one mode: a server child, a client child that dials and
// exchanges, then both sides' memory per connection.
func measure(i int, c config) (result, error) {
	var r result
	t0 := time.Now()
	srv, err := startChild(roleEnv+"=server", "HYBI_DEFLATE_MODE="+strconv.Itoa(i),
		"HYBI_DEFLATE_CONNS="+strconv.Itoa(c.conns), "HYBI_DEFLATE_MSGS="+strconv.Itoa(c.msgs), "HYBI_DEFLATE_SIZE="+strconv.Itoa(c.size))
	if err != nil {
		return r, err
	}
	defer srv.stop()
	l, err := srv.line()
	if err != nil {
		return r, fmt.Errorf("server: %w", err)
	}
	addr, ok := strings.CutPrefix(l, "addr ")
	if !ok {
		return r, fmt.Errorf("server said %q", l)
	}
	srvBase, err := srv.mem("base")
	if err != nil {
		return r, err
	}
	cli, err := startChild(roleEnv+"=client", "HYBI_DEFLATE_MODE="+strconv.Itoa(i), "HYBI_DEFLATE_ADDR="+addr,
		"HYBI_DEFLATE_CONNS="+strconv.Itoa(c.conns), "HYBI_DEFLATE_MSGS="+strconv.Itoa(c.msgs), "HYBI_DEFLATE_SIZE="+strconv.Itoa(c.size))
	if err != nil {
		return r, err
	}
	defer cli.stop()
	l, err = cli.line()
	if err != nil {
		return r, fmt.Errorf("client: %w", err)
	}
	var cliBase stats
	if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "base ")), &cliBase); err != nil {
		return r, fmt.Errorf("client said %q", l)
	}
	if l, err = cli.line(); err != nil {
		return r, fmt.Errorf("client: %w", err)
	}
	if r.response, ok = strings.CutPrefix(l, "ready "); !ok {
		return r, fmt.Errorf("client said %q", l)
	}
	cliIdle, err := cli.mem("mem")
	if err != nil {
		return r, err
	}
	srvIdle, err := srv.mem("mem")
	if err != nil {
		return r, err
	}
	if srvIdle.Conns != int64(c.conns) || cliIdle.Conns != int64(c.conns) {
		return r, fmt.Errorf("idle connections: server %d, client %d, want %d", srvIdle.Conns, cliIdle.Conns, c.conns)
	}
	n := float64(c.conns)
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / n }
	r.srvHeap, r.srvRSS, r.srvStack = per(srvIdle.Heap, srvBase.Heap), per(srvIdle.RSS, srvBase.RSS), per(srvIdle.Stack, srvBase.Stack)
	r.cliHeap, r.cliRSS, r.cliStack = per(cliIdle.Heap, cliBase.Heap), per(cliIdle.RSS, cliBase.RSS), per(cliIdle.Stack, cliBase.Stack)
	r.took = time.Since(t0)
	return r, nil
}

func childParams() (m mode, conns, msgs, size int, err error) {
	if m, err = modeByName(os.Getenv("HYBI_DEFLATE_MODE")); err != nil {
		return
	}
	for _, p := range []struct {
		env string
		v   *int
	}{{"HYBI_DEFLATE_CONNS", &conns}, {"HYBI_DEFLATE_MSGS", &msgs}, {"HYBI_DEFLATE_SIZE", &size}} {
		if *p.v, err = strconv.Atoi(os.Getenv(p.env)); err != nil {
			return
		}
	}
	return
}

// answerMem answers every "mem" line on stdin with the process's memory
// and the count of idle connections, until stdin ends.
func answerMem(idle *atomic.Int64, want int) {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd := sc.Text()
		if cmd != "mem" && cmd != "base" {
			continue
		}
		// The last echoes may still be on their way to idle.
		for end := time.Now().Add(10 * time.Second); cmd == "mem" && idle.Load() < int64(want) && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
		s := readStats()
		s.Conns = idle.Load()
		b, _ := json.Marshal(s)
		fmt.Printf("mem %s\n", b)
	}
}

// serveChild accepts connections with the mode's policy; each echoes the
// pair's messages, then parks in ReadMessage(nil) until the end.
func serveChild() error {
	m, conns, msgs, _, err := childParams()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	opts := &websocket.AcceptOptions{Options: websocket.Options{Compression: m.on}, CompressionServer: m.srv}
	var idle atomic.Int64
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c, err := websocket.Upgrade(nc, nil, opts)
				if err != nil {
					nc.Close()
					return
				}
				buf := make([]byte, 0, 4<<10)
				for range msgs {
					var typ websocket.MessageType
					if typ, buf, err = c.ReadMessage(buf[:0]); err != nil {
						c.CloseNow()
						return
					}
					if err := c.WriteMessage(typ, buf); err != nil {
						c.CloseNow()
						return
					}
				}
				buf = nil
				idle.Add(1)
				c.ReadMessage(nil) // idle until the client goes
				c.CloseNow()
			}()
		}
	}()
	fmt.Printf("addr %s\n", ln.Addr())
	answerMem(&idle, conns)
	return nil
}

// clientChild dials the pairs, a few at once, exchanges the messages on
// each and parks a reader on each, then answers "mem" until stdin ends.
func clientChild() error {
	m, conns, msgs, size, err := childParams()
	if err != nil {
		return err
	}
	payloads := jsonMessages(msgs, size)
	base := readStats()
	b, _ := json.Marshal(base)
	fmt.Printf("base %s\n", b)
	url := "ws://" + os.Getenv("HYBI_DEFLATE_ADDR") + "/"
	opts := &websocket.DialOptions{Proxy: websocket.NoProxy, Options: websocket.Options{Compression: m.on}}
	var (
		idle     atomic.Int64
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		response string
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 4<<10)
			for next.Add(1) <= int64(conns) {
				err := func() error {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					c, res, err := websocket.Dial(ctx, url, opts)
					if err != nil {
						return err
					}
					for _, p := range payloads {
						if err := c.WriteMessage(websocket.Text, p); err != nil {
							return err
						}
						if _, buf, err = c.ReadMessage(buf[:0]); err != nil {
							return err
						}
						if !bytes.Equal(buf, p) {
							return errors.New("echo differs")
						}
					}
					mu.Lock()
					if response == "" {
						response = res.Header.Get("Sec-WebSocket-Extensions")
					}
					mu.Unlock()
					idle.Add(1)
					go func() { c.ReadMessage(nil); c.CloseNow() }()
					return nil
				}()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if response == "" {
		response = "(none)"
	}
	fmt.Printf("ready %s\n", response)
	answerMem(&idle, conns)
	return nil
}

func write(w io.Writer, c config, res [][]result, took time.Duration) {
	fmt.Fprintf(w, "### permessage-deflate: memory per idle connection by negotiated mode\n\n")
	fmt.Fprintf(w, "`cd bench && go run ./cmd/benchdeflate -conns %d -rounds %d` (%s, %d cores, %s; %v in all): %d loopback pairs per mode, the server and the client each in a child process of their own; each pair exchanged %d JSON text messages of %s both ways, then went idle with one reader parked on each end. Per connection and side, medians of %d rounds (modes rotated): the heap in use (the Conn, its compressor and inflater, the socket's Go objects) and the RSS (the heap, the parked reader's stack, and what the runtime kept), each against the same process before its first connection. The client offers `permessage-deflate; client_max_window_bits` (deflate.DefaultOffers, as browsers do); the server's policy (`AcceptOptions.CompressionServer`) sets the mode.\n\n",
		c.conns, c.rounds, runtime.Version(), runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, took.Round(time.Second), c.conns, c.msgs, mdreport.Size(c.size), c.rounds)
	fmt.Fprintf(w, "| mode | server's response | server heap | server RSS | client heap | client RSS | pair RSS |\n|---|---|---|---|---|---|---|\n")
	for i, m := range modes {
		rs := res[i]
		if len(rs) == 0 {
			continue
		}
		resp := rs[0].response
		if resp != "(none)" {
			resp = "`" + resp + "`"
		}
		sh, sr := mdreport.Median(rs, func(r result) float64 { return r.srvHeap }), mdreport.Median(rs, func(r result) float64 { return r.srvRSS })
		ch, cr := mdreport.Median(rs, func(r result) float64 { return r.cliHeap }), mdreport.Median(rs, func(r result) float64 { return r.cliRSS })
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", m.name, resp,
			mdreport.Bytes(sh), mdreport.Bytes(sr), mdreport.Bytes(ch), mdreport.Bytes(cr), mdreport.Bytes(sr+cr))
	}
	fmt.Fprintln(w)
}

// splice puts section between the markers of file, or at its end.
func splice(file, section string) error {
	return mdreport.Splice(file, beginMark, endMark, "", section)
}
