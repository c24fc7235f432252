package deflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"

	"github.com/hybi/websocket/handshake"
)

// FuzzInflate checks the Inflater against compress/flate on arbitrary raw
// DEFLATE input: no panic, bounded output, compress/flate's output is a
// prefix of ours (we decode on after a BFINAL block, RFC 7692 §7.2.1), and
// both agree on whether the data before the end is corrupt.
func FuzzInflate(f *testing.F) {
	for _, level := range []int{flate.HuffmanOnly, 0, 1, 6, 9} {
		for _, data := range [][]byte{[]byte("Hello"), textData(1, 3000), mixedData(2, 5000), make([]byte, 2000)} {
			var b bytes.Buffer
			w, _ := flate.NewWriter(&b, level)
			w.Write(data)
			w.Close()
			f.Add(b.Bytes())
		}
	}
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})
	f.Add([]byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})
	f.Add(bombStream(100))
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxOut = 1 << 22
		var inf Inflater
		var got []byte
		out := make([]byte, 1000)
		in := data
		var err error
		for len(got) < maxOut {
			var n, m int
			n, m, err = inf.Inflate(out, in)
			got = append(got, out[:n]...)
			in = in[m:]
			if err != nil || (len(in) == 0 && n < len(out)) {
				break
			}
		}
		if len(got) >= maxOut {
			return // a legitimately large expansion; nothing to compare cheaply
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not match ErrCorrupt", err)
		}
		if errors.Is(err, errNoEnd) {
			// Deliberate difference: like zlib ("invalid code -- missing
			// end-of-block") we reject a code with no end-of-block symbol
			// at once, since such a block can never end; compress/flate
			// decodes its literals first.
			return
		}

		r := flate.NewReader(bytes.NewReader(data))
		want, ferr := io.ReadAll(io.LimitReader(r, maxOut))
		if !bytes.HasPrefix(got, want) {
			t.Fatalf("compress/flate gave %d bytes (%v), not a prefix of our %d (%v); first difference at %d",
				len(want), ferr, len(got), err, firstDiff(got, want))
		}
		var ce flate.CorruptInputError
		switch {
		case errors.Is(ferr, io.ErrUnexpectedEOF) && err != nil:
			// compress/flate stopped for want of bits; we found the data
			// corrupt with the bits we had. That is right only if no
			// continuation can make it valid: compress/flate must find
			// every continuation we try corrupt within the data we saw
			// (its offset may run a couple of bytes ahead of the error).
			for _, suffix := range [][]byte{make([]byte, 16), bytes.Repeat([]byte{0xff}, 16), Tail[:], {0x55, 0xaa, 0x0f, 0xf0, 0x33, 0xcc, 0x01, 0x80}} {
				r := flate.NewReader(io.MultiReader(bytes.NewReader(data), bytes.NewReader(suffix)))
				_, ferr2 := io.ReadAll(io.LimitReader(r, maxOut))
				var ce2 flate.CorruptInputError
				if !errors.As(ferr2, &ce2) || int64(ce2) > int64(len(data))+2 {
					t.Fatalf("compress/flate: truncated, and with % x appended: %v; we: %v", suffix, ferr2, err)
				}
			}
		case errors.As(ferr, &ce) && err == nil:
			// compress/flate found the data corrupt; we may still be
			// waiting for bits it did not need, but no continuation can
			// make it valid: with Tail the message must fail.
			tail := Tail[:]
			for {
				n, m, err2 := inf.Inflate(out, tail)
				if err2 != nil {
					return
				}
				tail = tail[m:]
				if len(tail) == 0 && n < len(out) {
					break
				}
			}
			if inf.EndMessage() == nil {
				t.Fatalf("compress/flate: %v, we: a valid message", ferr)
			}
		}
	})
}

// FuzzNegotiate feeds arbitrary Sec-WebSocket-Extensions values to both
// sides: no panic, and whatever the server answers is a valid response that
// a client sending exactly that offer accepts with the same Params.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
		"permessage-deflate; server_max_window_bits=08, permessage-deflate; foo=1, permessage-deflate; client_max_window_bits=15",
		`permessage-deflate; server_max_window_bits="9"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		exts, err := handshake.ParseExtensions([]string{header})
		if err != nil {
			return
		}
		for _, srv := range []Server{{}, {ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 9, ClientMaxWindowBits: 10}} {
			resp, ok := srv.Negotiate(exts)
			if !ok {
				continue
			}
			sp, err := ParseResponse(resp)
			if err != nil {
				t.Fatalf("own response %q: %v", resp, err)
			}
			// The accepted offer is the first one that parses.
			for _, o := range exts {
				if o.Name != ExtensionName {
					continue
				}
				el, perr := parseElement(o, true)
				if perr != nil {
					continue
				}
				offer := Offer{el.serverNoCtx, el.clientNoCtx, el.serverBits, el.clientBits}
				cp, err := NewClient(offer).Params(resp)
				if err != nil {
					t.Fatalf("offer %q, response %q refused: %v", o, resp, err)
				}
				if sp != cp {
					t.Fatalf("offer %q, response %q: server %+v, client %+v", o, resp, sp, cp)
				}
				break
			}
		}
		// The client side never panics on any response either.
		var c Client
		for _, e := range exts {
			c.Accept(e)
			ParseResponse(e)
		}
	})
}
