package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
)

// batch is a set of case numbers (1-based) run with some parallelism.
type batch struct {
	cases   []int
	workers int
}

// allCases is the default schedule: every case, workers at a time.
func allCases(workers int) func(n int) []batch {
	return func(n int) []batch {
		b := batch{workers: workers}
		for i := 1; i <= n; i++ {
			b.cases = append(b.cases, i)
		}
		return []batch{b}
	}
}

// autobahnClient drives the testsuite's fuzzing server at base: it asks for
// the number of cases, plays each case as an echo client in the batches
// schedule returns, and asks the server to write its reports.
func autobahnClient(ctx context.Context, base, agent string, compress bool, schedule func(n int) []batch, progress func(i, n int)) error {
	opts := &websocket.DialOptions{Options: echoOptions(compress), Proxy: websocket.NoProxy}
	base = strings.TrimSuffix(base, "/")
	q := url.QueryEscape(agent)

	c, _, err := websocket.Dial(ctx, base+"/getCaseCount", opts)
	if err != nil {
		return fmt.Errorf("getCaseCount: %w", err)
	}
	_, msg, err := c.ReadMessage(nil)
	if err != nil {
		return fmt.Errorf("getCaseCount: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(msg)))
	if err != nil {
		return fmt.Errorf("getCaseCount: %q is not a number", msg)
	}
	c.Close(frame.CloseNormal, "")

	for _, b := range schedule(n) {
		workers := max(b.workers, 1)
		next := make(chan int)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					c, _, err := websocket.Dial(ctx, base+"/runCase?case="+strconv.Itoa(i)+"&agent="+q, opts)
					if err == nil {
						echo(c)
					}
					if progress != nil {
						progress(i, n)
					}
				}
			}()
		}
		for _, i := range b.cases {
			if ctx.Err() != nil {
				break
			}
			next <- i
		}
		close(next)
		wg.Wait()
	}

	c, _, err = websocket.Dial(ctx, base+"/updateReports?agent="+q, opts)
	if err != nil {
		return fmt.Errorf("updateReports: %w", err)
	}
	// The server writes the reports, then closes; wait for that.
	c.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		if _, _, err := c.ReadMessage(nil); err != nil {
			break
		}
	}
	c.CloseNow()
	return ctx.Err()
}

func runAutobahnClient(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("autobahn-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "ws://127.0.0.1:9001", "URL of the Autobahn fuzzing server")
	agent := fs.String("agent", "hybi", "agent name in the report")
	compress := fs.Bool("compress", true, "offer permessage-deflate (groups 12 and 13 need it)")
	workers := fs.Int("parallel", 1, "cases to run at the same time")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wsx autobahn-client [-url ws://host:port] [-agent name] [-compress] [-parallel n]\n\nPlay the Autobahn testsuite's client protocol against its fuzzing server:\nGET /getCaseCount, then /runCase?case=N&agent=A for every case (echoing\neverything), then /updateReports?agent=A.\n\n")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	err := autobahnClient(context.Background(), *base, *agent, *compress, allCases(*workers), func(i, n int) {
		fmt.Fprintf(stdout, "case %d/%d done\n", i, n)
	})
	if err != nil {
		fmt.Fprintln(stderr, "wsx autobahn-client:", err)
		return 1
	}
	fmt.Fprintln(stdout, "wsx: reports updated")
	return 0
}
