package adversary

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hybi/websocket"
)

// SoakResult is the soak of one server.
type SoakResult struct {
	Server                string
	Conns, Waves          int
	Messages, Bytes       int64 // echoed and verified
	Lost, Corrupt, Errors int64
	PeakRSS               int64
	PeakG                 int
	Took                  time.Duration
}

// RunSoak runs conns concurrent connections, each echoing msgs messages of
// 1 B to 64 KiB (every third connection compressed), against the
// goroutine and the Loop server with compression on, verifying every byte.
// With duration > 0 it starts a new wave of connections when one ends, until
// duration has passed. only, when "goroutine" or "loop", soaks that server
// alone.
func RunSoak(bin string, conns, msgs int, duration time.Duration, only string, progress io.Writer) ([]SoakResult, error) {
	var out []SoakResult
	for _, cfg := range []ServerConfig{{Compression: true}, {Loop: true, Compression: true}} {
		if only != "" && (only == "loop") != cfg.Loop {
			continue
		}
		srv, err := start(bin, cfg)
		if err != nil {
			return out, err
		}
		sm := srv.sample()
		sm.interval = 200 * time.Millisecond
		r := SoakResult{Server: cfg.String(), Conns: conns}
		start := time.Now()
		for r.Waves == 0 || duration > 0 && time.Since(start) < duration {
			wave(srv.ws, conns, msgs, r.Waves, &r)
			r.Waves++
			fmt.Fprintf(progress, "soak %-16s wave %d: %d messages verified, %d lost, %d corrupt, %d errors (%v)\n",
				cfg, r.Waves, r.Messages, r.Lost, r.Corrupt, r.Errors, time.Since(start).Round(time.Second))
		}
		r.Took = time.Since(start)
		r.PeakG, r.PeakRSS = sm.end()
		srv.stop()
		fmt.Fprintf(progress, "soak %-16s %d conns × %d messages × %d waves: %d verified (%s), %d lost, %d corrupt, %d errors; server peak RSS %s, %d goroutines; %v\n",
			cfg, conns, msgs, r.Waves, r.Messages, mib(r.Bytes), r.Lost, r.Corrupt, r.Errors, mib(r.PeakRSS), r.PeakG, r.Took.Round(time.Second))
		out = append(out, r)
	}
	return out, nil
}

func wave(addr string, conns, msgs, seed int, r *SoakResult) {
	var messages, bytesOK, lost, corrupt, errs atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // bounded dialing: no SYN storm
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			o := &websocket.DialOptions{}
			o.Compression = i%3 == 0
			c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", o)
			cancel()
			<-sem
			if err != nil {
				errs.Add(1)
				lost.Add(int64(msgs))
				return
			}
			defer c.CloseNow()
			c.SetDeadline(time.Now().Add(5 * time.Minute))
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
			var buf []byte
			for k := range msgs {
				n := 1 << rng.IntN(17) // 1 B .. 64 KiB, log-uniform
				n = min(n+rng.IntN(n), 64<<10)
				p := make([]byte, n)
				for j := range p {
					p[j] = byte(rng.Uint32())
				}
				if k%2 == 0 {
					p = bytes.Repeat([]byte("compressible "), n/13+1)[:n]
				}
				if err := c.WriteMessage(websocket.Binary, p); err != nil {
					errs.Add(1)
					lost.Add(int64(msgs - k))
					return
				}
				_, b, err := c.ReadMessage(buf)
				if err != nil {
					errs.Add(1)
					lost.Add(int64(msgs - k))
					return
				}
				buf = b
				if !bytes.Equal(b, p) {
					corrupt.Add(1)
					continue
				}
				messages.Add(1)
				bytesOK.Add(int64(n))
			}
			c.Close(websocket.CloseNormal, "")
		}()
	}
	wg.Wait()
	r.Messages += messages.Load()
	r.Bytes += bytesOK.Load()
	r.Lost += lost.Load()
	r.Corrupt += corrupt.Load()
	r.Errors += errs.Load()
}
