package conn_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
)

// TestDeflateIntegration runs messages compressed by deflate.Compressor
// through a Conn whose Inflater is a deflate.Decompressor, under every
// chunking: the events must be the original messages (RFC 7692 §7.2).
func TestDeflateIntegration(t *testing.T) {
	r := rand.New(rand.NewPCG(7692, 1))
	random := make([]byte, 50000)
	for i := range random {
		random[i] = byte(r.IntN(256))
	}
	texts := []string{"Hello", strings.Repeat("héllo wörld ", 20000), "Hello", ""}
	for _, noCtx := range []bool{false, true} {
		for _, role := range roles {
			name := role.String()
			if noCtx {
				name += "/no_context_takeover"
			}
			t.Run(name, func(t *testing.T) {
				comp, err := deflate.NewCompressor(6, noCtx, 15)
				if err != nil {
					t.Fatal(err)
				}
				var frames []fr
				var want result
				for _, s := range texts {
					c, err := comp.AppendMessage(nil, []byte(s))
					if err != nil {
						t.Fatal(err)
					}
					frames = append(frames, fr{op: frame.OpText, flags: frame.RSV1, payload: string(c)})
					want.Events = append(want.Events, ev{Kind: conn.EventData, Opcode: frame.OpText, Final: true, RSV: frame.RSV1, Data: s})
				}
				// A compressed binary message in three fragments with a Ping
				// between them, then an uncompressed one.
				c, err := comp.AppendMessage(nil, random)
				if err != nil {
					t.Fatal(err)
				}
				third := len(c) / 3
				frames = append(frames,
					fr{op: frame.OpBinary, flags: frame.RSV1 | frame.More, payload: string(c[:third])},
					fr{op: frame.OpPing, payload: "mid"},
					fr{op: frame.OpContinuation, flags: frame.More, payload: string(c[third : 2*third])},
					fr{op: frame.OpContinuation, payload: string(c[2*third:])},
					fr{op: frame.OpText, payload: "plain"})
				want.Events = append(want.Events,
					ev{Kind: conn.EventData, Opcode: frame.OpBinary, RSV: frame.RSV1}, // filled below
					ping("mid"),
					ev{Kind: conn.EventData, Opcode: frame.OpBinary, Final: true},
					text("plain"))
				want.Out = []out{{frame.OpPong, "mid"}}
				stream := build(role, frames...)
				mk := func() *conn.Conn {
					return mustNew(t, conn.Config{Role: role, AllowedRSV: frame.RSV1, Inflater: deflate.NewDecompressor(noCtx)})
				}
				// How much of the binary message precedes the Ping depends on
				// the DEFLATE block structure: take it from the whole-stream run.
				whole := feed(t, mk(), stream, nil, false)
				n := len(texts)
				if len(whole.Events) != len(want.Events) {
					t.Fatalf("got %d events, want %d: %+v", len(whole.Events), len(want.Events), whole.Err)
				}
				want.Events[n].Data = whole.Events[n].Data
				want.Events[n+2].Data = whole.Events[n+2].Data
				if got := want.Events[n].Data + want.Events[n+2].Data; got != string(random) {
					t.Fatalf("binary message corrupted (%d bytes, want %d)", len(got), len(random))
				}
				runAll(t, mk, stream, want)
			})
		}
	}
}

// TestDeflateBomb: a small compressed frame that inflates past
// MaxMessageSize fails with 1009 while memory stays at the inflate buffer.
func TestDeflateBomb(t *testing.T) {
	comp, err := deflate.NewCompressor(9, false, 15)
	if err != nil {
		t.Fatal(err)
	}
	bomb, err := comp.AppendMessage(nil, make([]byte, 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	stream := build(conn.Server, fr{op: frame.OpBinary, flags: frame.RSV1, payload: string(bomb)})
	c := mustNew(t, conn.Config{Role: conn.Server, AllowedRSV: frame.RSV1, Inflater: deflate.NewDecompressor(false), MaxMessageSize: 1 << 20})
	got := feed(t, c, stream, nil, false)
	if got.Err != frame.ErrMessageTooBig.Error() {
		t.Fatalf("err = %q, want %q", got.Err, frame.ErrMessageTooBig)
	}
}
