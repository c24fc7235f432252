package autobahn

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The runner's own permessage-deflate (RFC 7692), written on
// compress/flate so that groups 12 and 13 do not judge hybi's deflate
// package with itself.

// deflateOffer is one permessage-deflate offer in the testsuite's terms.
type deflateOffer struct {
	AcceptNoContextTakeover  bool // offer client_no_context_takeover
	AcceptMaxWindowBits      bool // offer client_max_window_bits
	RequestNoContextTakeover bool // ask for server_no_context_takeover
	RequestMaxWindowBits     int  // ask for server_max_window_bits=N (0: don't)
}

// defaultOffer is the testsuite's PerMessageDeflateOffer().
var defaultOffer = deflateOffer{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true}

// String is the offer as sent in Sec-WebSocket-Extensions.
func (o deflateOffer) String() string {
	s := "permessage-deflate"
	if o.AcceptNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if o.AcceptMaxWindowBits {
		s += "; client_max_window_bits"
	}
	if o.RequestNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if o.RequestMaxWindowBits != 0 {
		s += fmt.Sprintf("; server_max_window_bits=%d", o.RequestMaxWindowBits)
	}
	return s
}

// deflateAccept is how the fuzzer, as a server, answers a client's offer:
// which offer it takes and what it requests of the client.
type deflateAccept struct {
	Offer                    deflateOffer
	RequestNoContextTakeover bool // client_no_context_takeover in the response
	RequestMaxWindowBits     int  // client_max_window_bits=N in the response
}

func (a deflateAccept) String() string {
	s := "permessage-deflate"
	if a.Offer.RequestNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if a.Offer.RequestMaxWindowBits != 0 {
		s += fmt.Sprintf("; server_max_window_bits=%d", a.Offer.RequestMaxWindowBits)
	}
	if a.RequestNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if a.RequestMaxWindowBits != 0 {
		s += fmt.Sprintf("; client_max_window_bits=%d", a.RequestMaxWindowBits)
	}
	return s
}

// acceptFunc picks among a client's offers; ok false declines them all.
type acceptFunc func(offers []deflateOffer) (deflateAccept, bool)

// acceptWith returns the testsuite's server accept functions 1-6: take the
// first offer that allows what we request.
func acceptWith(noCtx bool, maxBits int) acceptFunc {
	return func(offers []deflateOffer) (deflateAccept, bool) {
		for _, o := range offers {
			if noCtx && !o.AcceptNoContextTakeover {
				continue
			}
			if maxBits != 0 && !o.AcceptMaxWindowBits {
				continue
			}
			return deflateAccept{Offer: o, RequestNoContextTakeover: noCtx, RequestMaxWindowBits: maxBits}, true
		}
		return deflateAccept{}, false
	}
}

// acceptFirst tries each function in turn (the testsuite's accept7).
func acceptFirst(fns ...acceptFunc) acceptFunc {
	return func(offers []deflateOffer) (deflateAccept, bool) {
		for _, f := range fns {
			if a, ok := f(offers); ok {
				return a, true
			}
		}
		return deflateAccept{}, false
	}
}

// extElem is one element of a Sec-WebSocket-Extensions header.
type extElem struct {
	name   string
	params map[string]string // a parameter without value maps to ""
	has    map[string]bool
}

// parseExtensionHeader splits extension header values into elements. It
// is deliberately lenient: the runner only needs to read deflate offers
// and responses.
func parseExtensionHeader(values []string) ([]extElem, error) {
	var out []extElem
	for _, v := range values {
		for _, el := range strings.Split(v, ",") {
			el = strings.TrimSpace(el)
			if el == "" {
				continue
			}
			parts := strings.Split(el, ";")
			e := extElem{name: strings.TrimSpace(parts[0]), params: map[string]string{}, has: map[string]bool{}}
			for _, p := range parts[1:] {
				p = strings.TrimSpace(p)
				if p == "" {
					continue
				}
				k, val, _ := strings.Cut(p, "=")
				k = strings.TrimSpace(k)
				val = strings.Trim(strings.TrimSpace(val), `"`)
				if e.has[k] {
					return nil, fmt.Errorf("autobahn: duplicate extension parameter %q", k)
				}
				e.has[k] = true
				e.params[k] = val
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func windowBits(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 8 || n > 15 {
		return 0, fmt.Errorf("autobahn: invalid window bits %q", v)
	}
	return n, nil
}

// parseOffer reads a client's permessage-deflate offer.
func parseOffer(e extElem) (deflateOffer, error) {
	o := deflateOffer{AcceptNoContextTakeover: true}
	for k, v := range e.params {
		switch k {
		case "client_max_window_bits":
			if e.has[k] && v != "" {
				if _, err := windowBits(v); err != nil {
					return o, err
				}
			}
			o.AcceptMaxWindowBits = true
		case "client_no_context_takeover":
			o.AcceptNoContextTakeover = true
		case "server_max_window_bits":
			n, err := windowBits(v)
			if err != nil {
				return o, err
			}
			o.RequestMaxWindowBits = n
		case "server_no_context_takeover":
			o.RequestNoContextTakeover = true
		default:
			return o, fmt.Errorf("autobahn: unknown permessage-deflate parameter %q", k)
		}
	}
	return o, nil
}

// deflateParams is what was agreed, from the fuzzer's point of view.
type deflateParams struct {
	sendNoContext bool // reset our compressor per message
	sendBits      int  // window we may use when compressing
	recvNoContext bool // the peer resets its compressor per message
}

// parseResponse reads a server's permessage-deflate response into what the
// fuzzer, as the client, must do.
func parseResponse(e extElem) (deflateParams, error) {
	p := deflateParams{sendBits: 15}
	for k, v := range e.params {
		switch k {
		case "client_max_window_bits":
			n, err := windowBits(v)
			if err != nil {
				return p, err
			}
			p.sendBits = n
		case "client_no_context_takeover":
			p.sendNoContext = true
		case "server_max_window_bits":
			if _, err := windowBits(v); err != nil {
				return p, err
			}
		case "server_no_context_takeover":
			p.recvNoContext = true
		default:
			return p, fmt.Errorf("autobahn: unknown permessage-deflate parameter %q", k)
		}
	}
	return p, nil
}

// serverParams is what the fuzzer, as the server, must do after accepting.
func serverParams(a deflateAccept) deflateParams {
	bits := a.Offer.RequestMaxWindowBits
	if bits == 0 {
		bits = 15
	}
	return deflateParams{
		sendNoContext: a.Offer.RequestNoContextTakeover,
		sendBits:      bits,
		recvNoContext: a.RequestNoContextTakeover,
	}
}

// pmdSession compresses and decompresses messages of one connection.
type pmdSession struct {
	p    deflateParams
	buf  bytes.Buffer
	w    *flate.Writer
	r    io.ReadCloser
	dict []byte       // last 32 KiB of decompressed output (context takeover)
	out  bytes.Buffer // decompressed message, valid until the next call
}

func newPMD(p deflateParams) *pmdSession { return &pmdSession{p: p} }

// compress returns the payload of one compressed message: a sync-flushed
// deflate stream without its 00 00 ff ff tail (RFC 7692 §7.2.1). With a
// window below 32 KiB the stream uses Huffman coding only, so it never
// refers further back than the window the peer allowed.
func (m *pmdSession) compress(msg []byte) []byte {
	m.buf.Reset()
	switch {
	case m.w == nil:
		level := flate.BestSpeed
		if m.p.sendBits < 15 {
			level = flate.HuffmanOnly
		}
		m.w, _ = flate.NewWriter(&m.buf, level)
	case m.p.sendNoContext:
		m.w.Reset(&m.buf)
	}
	m.w.Write(msg)
	m.w.Flush()
	out := bytes.TrimSuffix(m.buf.Bytes(), []byte{0, 0, 0xff, 0xff})
	return append([]byte(nil), out...)
}

// tail ends a message's deflate data: the sync-flush marker the sender
// removed, then an empty final stored block so the reader stops cleanly.
var tail = []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}

var errInflateLimit = errors.New("decompressed message exceeds the limit")

// decompress inflates one message, at most limit bytes. The result is
// valid until the next call.
func (m *pmdSession) decompress(data []byte, limit int) ([]byte, error) {
	src := io.MultiReader(bytes.NewReader(data), bytes.NewReader(tail))
	var dict []byte
	if !m.p.recvNoContext {
		dict = m.dict
	}
	if m.r == nil {
		m.r = flate.NewReaderDict(src, dict)
	} else if err := m.r.(flate.Resetter).Reset(src, dict); err != nil {
		return nil, err
	}
	m.out.Reset()
	if _, err := m.out.ReadFrom(io.LimitReader(m.r, int64(limit)+1)); err != nil {
		return nil, err
	}
	out := m.out.Bytes()
	if len(out) > limit {
		return nil, errInflateLimit
	}
	if !m.p.recvNoContext {
		// Keep the last 32 KiB of output as the next message's dictionary.
		if len(out) >= 32768 {
			m.dict = append(m.dict[:0], out[len(out)-32768:]...)
		} else {
			keep := min(len(m.dict), 32768-len(out))
			m.dict = append(m.dict[:0], m.dict[len(m.dict)-keep:]...)
			m.dict = append(m.dict, out...)
		}
	}
	return out, nil
}
