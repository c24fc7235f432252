package fuzz

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/handshake"
)

func init() {
	addSeeds("FuzzNegotiate",
		seed{"browser", []any{"permessage-deflate; client_max_window_bits", uint32(0), "permessage-deflate"}},
		seed{"rfc7692-8.2", []any{"permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
			uint32(0x1234), "permessage-deflate; server_max_window_bits=10"}},
		seed{"all-params", []any{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=15",
			uint32(0xffffffff), "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"}},
		seed{"invalid-then-valid", []any{`permessage-deflate; server_max_window_bits="08", permessage-deflate; x, permessage-deflate; server_max_window_bits=15`,
			uint32(0x0f0f), "permessage-deflate; client_max_window_bits"}},
		seed{"duplicate", []any{"permessage-deflate; client_no_context_takeover; client_no_context_takeover", uint32(7), "permessage-deflate; server_max_window_bits=16"}},
	)
	addSeeds("FuzzInflate",
		// RFC 7692 §7.2.3.1-§7.2.3.4 (payloads, the 00 00 ff ff tail removed).
		seed{"rfc7692-hello", []any{[]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, uint16(4096), []byte{}}},
		seed{"rfc7692-hello-split", []any{[]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, uint16(1), []byte{0, 2}}},
		seed{"rfc7692-stored", []any{[]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, uint16(3), []byte{}}},
		seed{"rfc7692-bfinal", []any{[]byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, uint16(4096), []byte{}}},
		seed{"rfc7692-two-blocks", []any{[]byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, uint16(2), []byte{1}}},
		seed{"bomb-77k", []any{fixedHuffmanBomb(300), uint16(4096), []byte{}}},
		seed{"bomb-77k-allocs", []any{fixedHuffmanBomb(300), uint16(0x8000 | 4095), []byte{}}},
		seed{"rfc7692-hello-allocs", []any{[]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, uint16(0x8000 | 7), []byte{0}}},
		seed{"empty", []any{[]byte{0x00}, uint16(4096), []byte{}}},
		seed{"corrupt", []any{[]byte{0xff, 0xff, 0xff}, uint16(16), []byte{}}},
	)
}

// fixedHuffmanBomb is a DEFLATE block with fixed Huffman codes (RFC 1951
// §3.2.6) holding one literal 0 and n copies of length 258 at distance 1,
// then an empty stored block header as a sync flush leaves it (RFC 7692
// §7.2.1, the 00 00 ff ff removed): 1+258n bytes from about 1.6n input bytes.
func fixedHuffmanBomb(n int) []byte {
	var out []byte
	var acc uint32
	var nacc uint
	bits := func(v uint32, n uint) { // LSB first
		acc |= v << nacc
		nacc += n
		for nacc >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			nacc -= 8
		}
	}
	code := func(c uint32, n uint) { // Huffman codes go MSB first
		for i := int(n) - 1; i >= 0; i-- {
			bits(c>>uint(i)&1, 1)
		}
	}
	bits(0, 1)    // BFINAL 0
	bits(1, 2)    // BTYPE 01: fixed Huffman
	code(0x30, 8) // literal 0
	for range n {
		code(0xc5, 8) // length code 285: 258
		code(0, 5)    // distance code 0: 1
	}
	code(0, 7) // end of block (256)
	bits(0, 3) // stored block header, BFINAL 0
	if nacc > 0 {
		bits(0, 8-nacc)
	}
	return out
}

// refElement is an independent reading of RFC 7692 §7.1 for one element:
// ok is false for unknown or duplicate parameters and invalid values.
type refElement struct {
	ok                    bool
	serverNoCtx, cliNoCtx bool
	serverBits, cliBits   int // 0 absent, -1 present without value
}

// windowValues are the valid window sizes as written: "a decimal integer
// value without leading zeroes between 8 to 15 inclusive" (RFC 7692 §7.1.2).
var windowValues = map[string]int{"8": 8, "9": 9, "10": 10, "11": 11, "12": 12, "13": 13, "14": 14, "15": 15}

func refParse(e handshake.Extension, offer bool) refElement {
	r := refElement{ok: e.Name == "permessage-deflate"}
	seen := map[string]bool{}
	win := func(p handshake.Param) int {
		if !p.HasValue {
			return 0
		}
		return windowValues[p.Value]
	}
	for _, p := range e.Params {
		if seen[p.Name] {
			r.ok = false
		}
		seen[p.Name] = true
		switch p.Name {
		case "server_no_context_takeover":
			r.serverNoCtx = true
			r.ok = r.ok && !p.HasValue
		case "client_no_context_takeover":
			r.cliNoCtx = true
			r.ok = r.ok && !p.HasValue
		case "server_max_window_bits":
			r.serverBits = win(p)
			r.ok = r.ok && r.serverBits != 0
		case "client_max_window_bits":
			if !p.HasValue && offer {
				r.cliBits = -1
				continue
			}
			r.cliBits = win(p)
			r.ok = r.ok && r.cliBits != 0
		default:
			r.ok = false
		}
	}
	return r
}

// refAnswers reports whether response resp is a valid answer to offer o
// (RFC 7692 §7.1.1.1, §7.1.2.1, §7.1.2.2).
func refAnswers(o, resp refElement) bool {
	if !o.ok || !resp.ok {
		return false
	}
	if o.serverNoCtx && !resp.serverNoCtx {
		return false
	}
	if o.serverBits > 0 && (resp.serverBits == 0 || resp.serverBits > o.serverBits) {
		return false
	}
	if resp.cliBits != 0 && (o.cliBits == 0 || o.cliBits > 0 && resp.cliBits > o.cliBits) {
		return false
	}
	return true
}

func serverFromBits(c uint32) *deflate.Server {
	win := func(v uint32) int { // 0, or 8-15
		if v%9 == 0 {
			return 0
		}
		return int(v%9) + 7
	}
	return &deflate.Server{
		ServerNoContextTakeover: c&1 != 0,
		ClientNoContextTakeover: c&2 != 0,
		ServerMaxWindowBits:     win(c >> 2 & 15),
		ClientMaxWindowBits:     win(c >> 6 & 15),
	}
}

func offerFromBits(c uint32) deflate.Offer {
	win := func(v uint32) int { // 0, Valueless, or 8-15
		switch v % 10 {
		case 0:
			return 0
		case 1:
			return deflate.Valueless
		}
		return int(v%10) + 6
	}
	return deflate.Offer{
		ServerNoContextTakeover: c&1 != 0,
		ClientNoContextTakeover: c&2 != 0,
		ServerMaxWindowBits:     win(c >> 2 & 15),
		ClientMaxWindowBits:     win(c >> 6 & 15),
	}
}

// FuzzNegotiate: permessage-deflate negotiation (RFC 7692 §7.1) against an
// independent statement of its rules. The server, configured from cfg,
// answers the first offer the reference calls valid, with a response the
// reference says answers it and that honours the server's configuration,
// and declines when no offer is valid. A client whose offers come from cfg
// accepts exactly the responses the reference says answer one of them, and
// always accepts what our server answers to its offers; both ends then agree
// on the parameters.
func FuzzNegotiate(f *testing.F) {
	f.Fuzz(func(t *testing.T, offerHdr string, cfg uint32, respHdr string) {
		srv := serverFromBits(cfg)
		if offers, err := handshake.ParseExtensions([]string{offerHdr}); err == nil {
			resp, ok := srv.Negotiate(offers)
			first := -1
			for i, o := range offers {
				if refParse(o, true).ok {
					first = i
					break
				}
			}
			if ok != (first >= 0) {
				t.Fatalf("Negotiate(%q) ok = %v; reference: first valid offer %d", offerHdr, ok, first)
			}
			if ok {
				r := refParse(resp, false)
				o := refParse(offers[first], true)
				if !refAnswers(o, r) {
					t.Fatalf("Negotiate(%q) = %v does not answer offer %v", offerHdr, resp, offers[first])
				}
				if srv.ServerNoContextTakeover && !r.serverNoCtx {
					t.Fatalf("server_no_context_takeover configured, response %v", resp)
				}
				if b := srv.ServerMaxWindowBits; b >= 8 && b < 15 && (r.serverBits == 0 || r.serverBits > b) {
					t.Fatalf("server window %d configured, response %v", b, resp)
				}
				if b := srv.ClientMaxWindowBits; b >= 8 && b < 15 && o.cliBits != 0 && (r.cliBits == 0 || r.cliBits > b) {
					t.Fatalf("client window %d configured, offer %v, response %v", b, offers[first], resp)
				}
				enc := handshake.AppendExtensions(nil, []handshake.Extension{resp})
				back, err := handshake.ParseExtensions([]string{string(enc)})
				if err != nil || len(back) != 1 || !cmp.Equal(normExts(back), normExts([]handshake.Extension{resp})) {
					t.Fatalf("response %q does not survive the wire: %v %v", enc, back, err)
				}
				if _, err := deflate.ParseResponse(resp); err != nil {
					t.Fatalf("ParseResponse(%v): %v", resp, err)
				}
			}
		}

		cli := deflate.NewClient(offerFromBits(cfg), offerFromBits(cfg>>10), offerFromBits(cfg>>20))
		sent := cli.Offers()
		for _, o := range sent {
			if !refParse(o, true).ok {
				t.Fatalf("client sends invalid offer %v", o)
			}
		}
		if resp, ok := srv.Negotiate(sent); !ok {
			t.Fatalf("server declines our own client's offers %v", sent)
		} else if p, err := cli.Params(resp); err != nil {
			t.Fatalf("client refuses our server's response %v to %v: %v", resp, sent, err)
		} else {
			sp, err := deflate.ParseResponse(resp)
			if err != nil {
				t.Fatalf("ParseResponse(%v): %v", resp, err)
			}
			if p.ServerNoContextTakeover != sp.ServerNoContextTakeover || p.ServerMaxWindowBits != sp.ServerMaxWindowBits ||
				p.ClientMaxWindowBits > sp.ClientMaxWindowBits || (sp.ClientNoContextTakeover && !p.ClientNoContextTakeover) {
				t.Fatalf("ends disagree on %v: client %+v, server %+v", resp, p, sp)
			}
		}

		resps, err := handshake.ParseExtensions([]string{respHdr})
		if err != nil || len(resps) != 1 {
			return
		}
		r := refParse(resps[0], false)
		want := false
		for _, o := range sent {
			want = want || refAnswers(refParse(o, true), r)
		}
		p, err := cli.Params(resps[0])
		if want != (err == nil) {
			t.Fatalf("client offers %v, response %v: Params err = %v, reference ok = %v", sent, resps[0], err, want)
		}
		if err == nil {
			if p.ServerMaxWindowBits < 8 || p.ServerMaxWindowBits > 15 || p.ClientMaxWindowBits < 8 || p.ClientMaxWindowBits > 15 {
				t.Fatalf("Params %+v out of range", p)
			}
		}
	})
}

// refInflate decodes msg with compress/flate as RFC 7692 §7.2.1 reads it:
// a block with BFINAL set ends one DEFLATE stream and the next starts at
// the following byte boundary, with the same window. It stops after limit
// bytes of output. The error is the last stream's (io.ErrUnexpectedEOF
// when the message does not end with a final block, as after a sync flush).
func refInflate(msg []byte, limit int) ([]byte, error) {
	return refInflateDict(msg, nil, limit)
}

// refInflateDict is refInflate with the window of earlier messages (RFC
// 7692 §7.2.3.2: context takeover) preset to dict.
func refInflateDict(msg, dict []byte, limit int) ([]byte, error) {
	r := bytes.NewReader(msg) // an io.ByteReader: flate reads no byte past a final block
	var out []byte
	for {
		window := append(bytes.Clone(dict), out...)
		dict := window[max(0, len(window)-32<<10):]
		fr := flate.NewReaderDict(r, dict)
		got, err := io.ReadAll(io.LimitReader(fr, int64(limit-len(out))))
		out = append(out, got...)
		if err != nil || len(out) >= limit || r.Len() == 0 {
			return out, err
		}
		// io.ReadAll stops at io.EOF: the stream ended with a final block
		// (or the limit was hit, handled above); the next one follows.
	}
}

const inflateLimit = 64 << 10

// inflateAll runs one message (payload, then the RFC 7692 tail) through a
// fresh Inflater, input in chunks from splits and output in pieces of at
// most outSize bytes, stopping once limit bytes came out, as a receiver
// with a message size limit does. It checks Inflate's contract on every call.
func inflateAll(t *testing.T, payload []byte, outSize int, splits []byte, limit int) ([]byte, error) {
	var in deflate.Inflater
	msg := append(bytes.Clone(payload), deflate.Tail[:]...)
	var got []byte
	out := make([]byte, outSize)
	at := 0
	for _, c := range chunks(len(msg), splits) {
		chunk := msg[at : at+c]
		at += c
		for {
			room := min(outSize, limit-len(got))
			if room == 0 {
				return got, nil // over the limit: the receiver fails with 1009
			}
			nOut, nIn, err := in.Inflate(out[:room], chunk)
			if nOut < 0 || nOut > room || nIn < 0 || nIn > len(chunk) {
				t.Fatalf("Inflate(out %d, in %d) = %d, %d", room, len(chunk), nOut, nIn)
			}
			got = append(got, out[:nOut]...)
			chunk = chunk[nIn:]
			if err != nil {
				if !errors.Is(err, deflate.ErrCorrupt) {
					t.Fatalf("Inflate error %v does not match ErrCorrupt", err)
				}
				return got, err
			}
			if nOut < room {
				if len(chunk) != 0 {
					t.Fatalf("Inflate returned room in out and %d bytes of input unconsumed", len(chunk))
				}
				break
			}
		}
	}
	return got, in.EndMessage()
}

// FuzzInflate: the push-style Inflater on an arbitrary message payload.
// Output never exceeds the room given (so a receiver's limit bounds memory:
// the Inflater itself never grows), every call keeps Inflate's contract,
// the output and verdict do not depend on how input and output are chopped,
// and the bytes agree with compress/flate on the same stream.
func FuzzInflate(f *testing.F) {
	f.Fuzz(checkInflate)
}

func checkInflate(t *testing.T, payload []byte, outSize uint16, splits []byte) {
	{
		outN := int(outSize)%4096 + 1
		whole, werr := inflateAll(t, payload, inflateLimit, nil, inflateLimit)
		split, serr := inflateAll(t, payload, outN, splits, inflateLimit)
		if !bytes.Equal(whole, split) || (werr == nil) != (serr == nil) {
			t.Fatalf("chopping changes the result: whole %d bytes, %v; split (out %d) %d bytes, %v", len(whole), werr, outN, len(split), serr)
		}
		if len(whole) > inflateLimit {
			t.Fatalf("%d bytes out with a limit of %d", len(whole), inflateLimit)
		}
		small := inflateLimit / 64
		if got, _ := inflateAll(t, payload, outN, splits, small); len(got) > small || !bytes.Equal(got, whole[:min(len(whole), len(got))]) {
			t.Fatalf("with limit %d: %d bytes, not a prefix of the unlimited output", small, len(got))
		}

		if outSize&0x8000 != 0 { // half the inputs: AllocsPerRun stops the world twice
			checkInflateNoAllocs(t, payload, outN)
		}

		ref, rerr := refInflate(append(bytes.Clone(payload), deflate.Tail[:]...), inflateLimit)
		n := min(len(ref), len(whole))
		if !bytes.Equal(ref[:n], whole[:n]) {
			t.Fatalf("output differs from compress/flate within the first %d bytes", n)
		}
		var corrupt flate.CorruptInputError
		if werr == nil && len(whole) < inflateLimit {
			if errors.As(rerr, &corrupt) {
				t.Fatalf("Inflater accepts a message compress/flate calls corrupt: %v", rerr)
			}
			if len(ref) != len(whole) {
				t.Fatalf("valid message: %d bytes, compress/flate gives %d (%v)", len(whole), len(ref), rerr)
			}
		}
		if errors.As(rerr, &corrupt) && werr == nil && len(whole) < inflateLimit {
			t.Fatalf("compress/flate says %v, the Inflater accepts", rerr)
		}
		// A message compress/flate decodes to the end, ending at a block
		// boundary, is valid: the Inflater must accept it.
		if clean, ok := endsAtBlockBoundary(payload); ok && len(clean) < inflateLimit && werr != nil {
			t.Fatalf("the Inflater rejects a valid message (%q per compress/flate): %v", clean, werr)
		}
	}
}

func TestFixedHuffmanBomb(t *testing.T) {
	msg := append(fixedHuffmanBomb(1000), deflate.Tail[:]...)
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(msg)))
	if !errors.Is(err, io.ErrUnexpectedEOF) { // a sync flush, no final block
		t.Fatalf("compress/flate: %v", err)
	}
	if want := make([]byte, 1+258*1000); !bytes.Equal(got, want) {
		t.Fatalf("compress/flate decodes %d bytes, want %d zeros", len(got), len(want))
	}
}

// checkInflateNoAllocs requires a warm Inflater (Reset between messages) to
// allocate nothing while inflating payload, whatever it holds: its memory is
// fixed, and the output is bounded by the caller's buffer.
func checkInflateNoAllocs(t *testing.T, payload []byte, outN int) {
	var in deflate.Inflater
	out := make([]byte, outN)
	total := 0
	run := func() {
		in.Reset()
		total = 0
		for _, src := range [][]byte{payload, deflate.Tail[:]} {
			for total < inflateLimit {
				nOut, nIn, err := in.Inflate(out[:min(outN, inflateLimit-total)], src)
				total += nOut
				src = src[nIn:]
				if err != nil || nOut < outN && len(src) == 0 {
					break
				}
			}
		}
		_ = in.EndMessage()
	}
	if !allocFree(run) {
		t.Fatalf("a warm Inflater allocates on % x", payload)
	}
	if total > inflateLimit {
		t.Fatalf("%d bytes out with a limit of %d", total, inflateLimit)
	}
}

// endsAtBlockBoundary reports whether payload plus the RFC 7692 tail is a
// valid message for compress/flate that ends at a DEFLATE block boundary,
// and its output. compress/flate cannot say where a stream without a final
// block stops, so two different empty final blocks (fixed Huffman 03 00,
// stored 01 00 00 ff ff) are appended in turn: at a block boundary both
// decode cleanly to the same output; inside a block they are data, and
// both decoding cleanly to the same bytes is next to impossible.
func endsAtBlockBoundary(payload []byte) ([]byte, bool) {
	msg := cat(payload, deflate.Tail[:])
	a, errA := refInflate(cat(msg, []byte{0x03, 0x00}), inflateLimit)
	b, errB := refInflate(cat(msg, []byte{0x01, 0x00, 0x00, 0xff, 0xff}), inflateLimit)
	return a, errA == nil && errB == nil && bytes.Equal(a, b)
}
