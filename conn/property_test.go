package conn_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
)

// randomFrames makes a plausible, sometimes invalid, frame sequence: the
// kind of stream a fuzzer would find, from a fixed seed.
func randomFrames(r *rand.Rand) []fr {
	pieces := []string{"", "a", "héllo", "😀", "\xf0\x9f", "\x98\x80", "\xce", "\xba", "\xff", "\xed\xa0\x80", long125, strings.Repeat("z", 300)}
	var frames []fr
	open := false
	for range 1 + r.IntN(12) {
		var f fr
		payload := pieces[r.IntN(len(pieces))]
		if r.IntN(3) == 0 {
			payload += pieces[r.IntN(len(pieces))]
		}
		switch k := r.IntN(20); {
		case k < 6: // start a message (sometimes illegally while one is open)
			f.op = []frame.Opcode{frame.OpText, frame.OpBinary}[r.IntN(2)]
			if r.IntN(2) == 0 {
				f.flags = frame.More
			}
			open = f.flags&frame.More != 0
		case k < 11: // continue (sometimes with none open)
			f.op = frame.OpContinuation
			if r.IntN(3) == 0 {
				f.flags = frame.More
			}
			if !open && r.IntN(4) != 0 {
				continue
			}
			open = f.flags&frame.More != 0
		case k < 14:
			f.op = frame.OpPing
			payload = payload[:min(len(payload), 125+r.IntN(2))]
		case k < 16:
			f.op = frame.OpPong
			payload = payload[:min(len(payload), 125)]
		case k < 17:
			f.op = frame.OpClose
			payload = []string{"", "\x03\xe8", "\x03\xe8bye", "\x03", "\x03\xed", "\x0f\xa0\xff"}[r.IntN(6)]
		case k < 18:
			f.op = frame.Opcode(3 + r.IntN(5))
		case k < 19:
			f.op = frame.OpBinary
			f.flags = frame.Flags(1 << r.IntN(3)) // an RSV bit
		default:
			f.op = frame.OpText
			f.badMask = true
		}
		f.payload = payload
		frames = append(frames, f)
	}
	return frames
}

// TestChunkingProperty: for random streams, every chunking (and the direct
// payload path) gives the same events, output and verdict as the whole
// stream at once.
func TestChunkingProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(6455, 7))
	n := 400
	if testing.Short() {
		n = 50
	}
	verdicts := map[string]int{}
	for i := range n {
		frames := randomFrames(r)
		for _, role := range roles {
			stream := build(role, frames...)
			cfg := conn.Config{Role: role, MaxMessageSize: 1000, MaxFragments: 6}
			mk := func() *conn.Conn { return mustNew(t, cfg) }
			want := feed(t, mk(), stream, nil, false)
			verdicts[want.Err]++
			names, cuts := chunkings(len(stream), uint64(i))
			for j := range names {
				for _, direct := range []bool{false, true} {
					got := feed(t, mk(), stream, cuts[j], direct)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Fatalf("stream %d (%v) %s direct=%v: (-whole +chunked):\n%s\nframes: %+v", i, role, names[j], direct, diff, frames)
					}
				}
			}
		}
	}
	t.Logf("verdicts: %v", verdicts)
	// The generator must reach both outcomes and several failure kinds.
	if verdicts[""] == 0 || len(verdicts) < 6 {
		t.Errorf("generator too narrow: %v", verdicts)
	}
}

// TestGarbageProperty: random bytes (biased towards plausible headers)
// never panic, and every chunking agrees with the whole stream, with and
// without an Inflater.
func TestGarbageProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 6455))
	n := 1500
	if testing.Short() {
		n = 100
	}
	for i := range n {
		stream := make([]byte, r.IntN(300))
		for j := range stream {
			stream[j] = byte(r.IntN(256))
			if j%7 == 0 && r.IntN(2) == 0 { // plausible first header byte
				stream[j] = []byte{0x81, 0x82, 0x01, 0x00, 0x80, 0x89, 0x8a, 0x88, 0xc1, 0x41}[r.IntN(10)]
			}
		}
		for _, role := range roles {
			for _, inflate := range []bool{false, true} {
				mk := func() *conn.Conn {
					cfg := conn.Config{Role: role, MaxMessageSize: 200}
					if inflate {
						cfg.AllowedRSV, cfg.Inflater, cfg.InflateBufferSize = frame.RSV1, &rle{}, 16
					}
					return mustNew(t, cfg)
				}
				want := feedStream(t, mk(), stream, nil, false, false)
				names, cuts := chunkings(len(stream), uint64(i))
				for j := range names {
					for _, direct := range []bool{false, true} {
						got := feedStream(t, mk(), stream, cuts[j], direct, false)
						if diff := cmp.Diff(want, got); diff != "" {
							t.Fatalf("stream %d (%v, inflate=%v) %s direct=%v: (-whole +chunked):\n%s\n% x", i, role, inflate, names[j], direct, diff, stream)
						}
					}
				}
			}
		}
	}
}
