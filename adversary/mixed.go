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

// MixedResult is the mixed soak of one server.
type MixedResult struct {
	Server                   string
	Conns                    int
	Messages, Bytes          int64 // echoed and verified
	Fragmented, Compressed   int64 // of those, sent in fragments / on a compressed connection
	Pings, Pongs             int64
	ClosedEarly, Dropped     int64 // connections the client closed (handshake) or dropped (TCP) midway
	Lost, Corrupt, Errors    int64
	BaseG, PeakG, EndG       int
	BaseRSS, PeakRSS, EndRSS int64
	Took                     time.Duration
}

// Failed reports what is wrong with r, or "".
func (r MixedResult) Failed() string {
	var why []string
	if r.Lost > 0 || r.Corrupt > 0 || r.Errors > 0 {
		why = append(why, fmt.Sprintf("%d lost, %d corrupt, %d errors", r.Lost, r.Corrupt, r.Errors))
	}
	if r.Pings > 0 && r.Pongs == 0 {
		why = append(why, "no Pong answered a Ping")
	}
	if r.EndG > r.BaseG+5 {
		why = append(why, fmt.Sprintf("%d goroutines at the end, %d before", r.EndG, r.BaseG))
	}
	if len(why) == 0 {
		return ""
	}
	return fmt.Sprint(why)
}

// RunMixedSoak soaks all four servers (goroutine and Loop, permessage-deflate
// off and on) in turn with conns concurrent connections for about duration
// each, in waves: every connection echoes up to msgs messages of 0 B to
// 64 KiB and compares every byte. The connections mix what a server must
// handle at once: whole messages and messages sent in fragments of 512 B to
// 4 KiB through NextWriter, Pings between messages, permessage-deflate on
// every third connection (where the server accepts it), and clients that
// leave midway, one in ten with the closing handshake (which must complete)
// and one in twenty by dropping TCP. After the last wave the server's
// goroutines must come back to where they were.
func RunMixedSoak(bin string, conns, msgs int, duration time.Duration, progress io.Writer) ([]MixedResult, error) {
	var out []MixedResult
	for _, cfg := range []ServerConfig{{}, {Compression: true}, {Loop: true}, {Loop: true, Compression: true}} {
		srv, err := start(bin, cfg)
		if err != nil {
			return out, err
		}
		r := MixedResult{Server: cfg.String(), Conns: conns}
		r.BaseG = settle(srv, 0, 10*time.Second)
		r.BaseRSS = rss(srv.cmd.Process.Pid)
		sm := srv.sample()
		sm.interval = 100 * time.Millisecond
		begin := time.Now()
		for w := 0; w == 0 || time.Since(begin) < duration; w++ {
			mixedWave(srv.ws, conns, msgs, w, &r)
		}
		r.Took = time.Since(begin)
		r.PeakG, r.PeakRSS = sm.end()
		r.EndG = settle(srv, r.BaseG+5, 10*time.Second)
		r.EndRSS = rss(srv.cmd.Process.Pid)
		srv.stop()
		verdict := "PASS"
		if why := r.Failed(); why != "" {
			verdict = "FAIL: " + why
		}
		fmt.Fprintf(progress, "mixed soak %-17s %d conns: %d verified (%s; %d fragmented, %d compressed), %d pings %d pongs, %d closed early, %d dropped, %d lost, %d corrupt, %d errors; goroutines %d→%d→%d, RSS %s→%s→%s; %v  %s\n",
			cfg, conns, r.Messages, mib(r.Bytes), r.Fragmented, r.Compressed, r.Pings, r.Pongs, r.ClosedEarly, r.Dropped,
			r.Lost, r.Corrupt, r.Errors, r.BaseG, r.PeakG, r.EndG, mib(r.BaseRSS), mib(r.PeakRSS), mib(r.EndRSS), r.Took.Round(time.Second), verdict)
		out = append(out, r)
	}
	return out, nil
}

func mixedWave(addr string, conns, msgs, seed int, r *MixedResult) {
	var messages, bytesOK, fragmented, compressed, pings, pongs, early, dropped, lost, corrupt, errs atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // bounded dialing: no SYN storm
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
			o := &websocket.DialOptions{Proxy: websocket.NoProxy}
			o.Compression = i%3 == 0
			o.FragmentSize = 512 << rng.IntN(4) // 512 B .. 4 KiB
			o.CloseTimeout = 5 * time.Second
			var got atomic.Int64
			o.OnPong = func([]byte) { got.Add(1) }
			// How this connection ends: all messages, a Close midway,
			// or TCP dropped midway.
			stopAt, how := msgs, 0
			switch k := rng.IntN(20); {
			case k < 2:
				stopAt, how = rng.IntN(msgs+1), 1
			case k == 2:
				stopAt, how = rng.IntN(msgs+1), 2
			}
			sem <- struct{}{}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			c, res, err := websocket.Dial(ctx, "ws://"+addr+"/", o)
			cancel()
			<-sem
			if err != nil {
				errs.Add(1)
				lost.Add(int64(stopAt))
				return
			}
			defer c.CloseNow()
			isCompressed := len(res.Extensions) > 0
			c.SetDeadline(time.Now().Add(2 * time.Minute))
			var buf []byte
			for k := range stopAt {
				n := 0
				if rng.IntN(16) > 0 {
					n = min(1<<rng.IntN(17)+rng.IntN(1<<rng.IntN(17)), 64<<10) // 1 B .. 64 KiB, log-uniform
				}
				p := make([]byte, n)
				typ := websocket.Binary
				if k%2 == 0 {
					typ = websocket.Text
					copy(p, bytes.Repeat([]byte("compressible text "), n/18+1))
				} else {
					for j := range p {
						p[j] = byte(rng.Uint32())
					}
				}
				if rng.IntN(4) == 0 {
					pings.Add(1)
					if err := c.Ping([]byte{byte(k)}); err != nil {
						errs.Add(1)
						lost.Add(int64(stopAt - k))
						return
					}
				}
				frag := rng.IntN(3) == 0
				if err := sendMixed(c, typ, p, frag, rng); err != nil {
					errs.Add(1)
					lost.Add(int64(stopAt - k))
					return
				}
				gt, b, err := c.ReadMessage(buf)
				if err != nil {
					errs.Add(1)
					lost.Add(int64(stopAt - k))
					return
				}
				buf = b
				if gt != typ || !bytes.Equal(b, p) {
					corrupt.Add(1)
					continue
				}
				messages.Add(1)
				bytesOK.Add(int64(n))
				if frag {
					fragmented.Add(1)
				}
				if isCompressed {
					compressed.Add(1)
				}
			}
			pongs.Add(got.Load())
			switch {
			case how == 2:
				dropped.Add(1)
				c.CloseNow()
				return
			case how == 1:
				early.Add(1)
			}
			if err := c.Close(websocket.CloseNormal, ""); err != nil {
				errs.Add(1) // the closing handshake did not complete
			}
		}()
	}
	wg.Wait()
	r.Messages += messages.Load()
	r.Bytes += bytesOK.Load()
	r.Fragmented += fragmented.Load()
	r.Compressed += compressed.Load()
	r.Pings += pings.Load()
	r.Pongs += pongs.Load()
	r.ClosedEarly += early.Load()
	r.Dropped += dropped.Load()
	r.Lost += lost.Load()
	r.Corrupt += corrupt.Load()
	r.Errors += errs.Load()
}

// sendMixed sends p whole, or through NextWriter in writes of random
// lengths (the Conn cuts its frames at FragmentSize).
func sendMixed(c *websocket.Conn, typ websocket.MessageType, p []byte, frag bool, rng *rand.Rand) error {
	if !frag {
		return c.WriteMessage(typ, p)
	}
	w, err := c.NextWriter(typ)
	if err != nil {
		return err
	}
	for len(p) > 0 {
		k := min(len(p), 1+rng.IntN(8<<10))
		if _, err := w.Write(p[:k]); err != nil {
			return err
		}
		p = p[k:]
	}
	return w.Close()
}
