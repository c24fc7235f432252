package websocket

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// A peer that trickles a message, pausing longer than the reader's read
// deadline at arbitrary byte positions (inside a header, inside the
// payload, inside a UTF-8 character, between fragments, inside a
// compressed stream), gets the message delivered whole: each timeout
// leaves the connection open and the next read resumes (a timeout never
// kills a healthy connection).
func TestHostileTrickleAcrossTimeouts(t *testing.T) {
	text := strings.Repeat("héllo wörld ✓ 😀 ", 300) // multi-byte characters throughout
	for _, compressed := range []bool{false, true} {
		for _, api := range []string{"ReadMessage", "NextReader"} {
			name := api
			if compressed {
				name += "+deflate"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				type result struct {
					msg      []byte
					timeouts int
					err      error
				}
				res := make(chan result, 1)
				go func() {
					nc, err := ln.Accept()
					if err != nil {
						res <- result{err: err}
						return
					}
					c, err := Upgrade(nc, nil, &AcceptOptions{Options: Options{Compression: compressed}})
					if err != nil {
						nc.Close()
						res <- result{err: err}
						return
					}
					defer c.CloseNow()
					var r result
					var got []byte
					for {
						c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
						var err error
						if api == "ReadMessage" {
							_, got, err = c.ReadMessage(got)
						} else {
							err = readWhole(c, &got, &r.timeouts)
						}
						if err == nil {
							r.msg = got
							break
						}
						if !errors.Is(err, os.ErrDeadlineExceeded) {
							r.err = err
							break
						}
						r.timeouts++
					}
					res <- r
				}()
				ext := ""
				if compressed {
					ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
				}
				p := dialRaw(t, ln.Addr().String(), ext)
				// The message in 7 fragments, compressed as one stream.
				payload := []byte(text)
				b0 := wstest.OpText
				if compressed {
					payload = deflateRaw(payload)
					b0 |= wstest.RSV1
				}
				var wire []byte
				step := len(payload)/7 + 1
				for i := 0; i < len(payload); i += step {
					j := min(i+step, len(payload))
					op := b0
					if i > 0 {
						op = wstest.OpContinuation
					}
					if j == len(payload) {
						op |= wstest.FIN
					}
					wire = wstest.AppendFrame(wire, op, true, wstest.Key, payload[i:j], 0)
					if i == step {
						wire = append(wire, wstest.Client(wstest.OpPing, []byte("mid"))...)
					}
				}
				// 25 pieces cut at random positions, 40 ms apart.
				rng := rand.New(rand.NewPCG(uint64(len(wire)), 3))
				cuts := []int{0}
				for range 24 {
					cuts = append(cuts, 1+rng.IntN(len(wire)-1))
				}
				cuts = append(cuts, len(wire))
				slices.Sort(cuts)
				for k := 1; k < len(cuts); k++ {
					p.send(t, wire[cuts[k-1]:cuts[k]])
					time.Sleep(40 * time.Millisecond)
				}
				r := <-res
				if r.err != nil {
					t.Fatalf("after %d timeouts: %v", r.timeouts, r.err)
				}
				if string(r.msg) != text {
					t.Fatalf("after %d timeouts: got %d bytes, want the %d sent", r.timeouts, len(r.msg), len(text))
				}
				if r.timeouts < 10 {
					t.Errorf("only %d timeouts: the pauses did not cut the reads", r.timeouts)
				}
				t.Logf("whole after %d timeouts", r.timeouts)
			})
		}
	}
}

// readWhole reads one message with NextReader into *got, resuming after
// timeouts inside the message; *got keeps what was read so far.
func readWhole(c *Conn, got *[]byte, timeouts *int) error {
	_, r, err := c.NextReader()
	if err != nil {
		return err
	}
	*got = (*got)[:0]
	buf := make([]byte, 100)
	for {
		n, err := r.Read(buf)
		*got = append(*got, buf[:n]...)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			*timeouts++
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			continue
		}
		if err == io.EOF {
			return nil
		}
		return err
	}
}
