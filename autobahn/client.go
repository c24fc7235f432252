package autobahn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// Options tunes a run.
type Options struct {
	// Concurrency is how many cases run at once (default 1, like the
	// testsuite). Cases are independent connections, so running several at
	// once only changes timing, which no verdict depends on except that
	// heavy parallel load can stretch the one-second waits of a slow peer.
	Concurrency int
	// Margin is added to each case's own time bound before the runner drops
	// the connection of a peer that hangs (default 10s).
	Margin time.Duration
	// OutDir, when set, receives index.json, per-case JSON and index.md.
	OutDir string
	// Progress, when set, is called after each case.
	Progress func(*Result)
}

func (o Options) margin() time.Duration {
	if o.Margin <= 0 {
		return 10 * time.Second
	}
	return o.Margin
}

// RunClient is fuzzing-client mode: it plays cases against the WebSocket
// server at serverURL (ws://host:port/path), one connection per case, and
// judges the server. agent names the server in the report (when empty,
// the server's Server header is used). cases nil means the whole catalogue.
func RunClient(ctx context.Context, serverURL, agent string, cases []*Case, opts Options) (*Report, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("autobahn: %w", err)
	}
	if u.Scheme != "ws" {
		return nil, errors.New("autobahn: only ws:// URLs are supported")
	}
	if cases == nil {
		cases = Cases()
	}
	n := opts.Concurrency
	if n <= 0 {
		n = 1
	}
	rep := NewReport()
	var agentOnce sync.Once
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, c := range cases {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(c *Case) {
			defer wg.Done()
			defer func() { <-sem }()
			res, server := runClientCase(ctx, u, c, opts.margin())
			agentOnce.Do(func() {
				if agent == "" {
					agent = server
				}
				if agent == "" {
					agent = "UnknownServer"
				}
			})
			res.Agent = agent
			rep.Add(res)
			if opts.Progress != nil {
				opts.Progress(res)
			}
		}(c)
	}
	wg.Wait()
	if opts.OutDir != "" {
		if err := rep.Write(opts.OutDir); err != nil {
			return rep, err
		}
	}
	return rep, ctx.Err()
}

func runClientCase(ctx context.Context, u *url.URL, c *Case, margin time.Duration) (*Result, string) {
	started := time.Now()
	conn, br, pmd, server, err := clientHandshake(ctx, u, c.offers, 5*time.Second)
	if err != nil {
		return handshakeFailed(c, "", started, false, err), server
	}
	s := newSession(c, conn, br, false, pmd)
	s.run(ctx, c.bound+margin)
	return s.result("", started), server
}
