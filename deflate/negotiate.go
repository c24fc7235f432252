package deflate

import (
	"errors"

	"github.com/hybi/websocket/handshake"
)

// ExtensionName is the extension token of permessage-deflate (RFC 7692 §7).
const ExtensionName = "permessage-deflate"

// Parameter names (RFC 7692 §7.1).
const (
	paramServerNoContextTakeover = "server_no_context_takeover"
	paramClientNoContextTakeover = "client_no_context_takeover"
	paramServerMaxWindowBits     = "server_max_window_bits"
	paramClientMaxWindowBits     = "client_max_window_bits"
)

// Window sizes, as the base-2 logarithm of the LZ77 window (RFC 7692
// §7.1.2: "a decimal integer value without leading zeroes between 8 to 15
// inclusive").
const (
	MinWindowBits = 8
	MaxWindowBits = 15
)

// Valueless, as Offer.ClientMaxWindowBits, sends client_max_window_bits
// without a value: we support a window limit the server may choose (RFC 7692
// §7.1.2.2).
const Valueless = -1

// Params are the parameters a permessage-deflate handshake agreed on
// (RFC 7692 §7.1): what the accepted response element says. A window size
// the response does not limit is MaxWindowBits.
type Params struct {
	// ServerNoContextTakeover: the server resets its compression context
	// for every message (§7.1.1.1).
	ServerNoContextTakeover bool
	// ClientNoContextTakeover: the client resets its compression context
	// for every message (§7.1.1.2).
	ClientNoContextTakeover bool
	// ServerMaxWindowBits bounds the window of the server's compressor
	// (§7.1.2.1), 8-15.
	ServerMaxWindowBits int
	// ClientMaxWindowBits bounds the window of the client's compressor
	// (§7.1.2.2), 8-15.
	ClientMaxWindowBits int
}

// CompressorResets reports whether the endpoint playing server (or client)
// must start every message it sends with a fresh compression context.
func (p Params) CompressorResets(server bool) bool {
	if server {
		return p.ServerNoContextTakeover
	}
	return p.ClientNoContextTakeover
}

// InflaterResets reports whether the endpoint playing server (or client)
// may forget its decompression window after every message it receives,
// because the peer compresses each message on its own.
func (p Params) InflaterResets(server bool) bool {
	return p.CompressorResets(!server)
}

// CompressWindowBits is the largest window the endpoint playing server (or
// client) may use when it compresses.
func (p Params) CompressWindowBits(server bool) int {
	if server {
		return p.ServerMaxWindowBits
	}
	return p.ClientMaxWindowBits
}

// InflateWindowBits is the largest window the peer of the endpoint playing
// server (or client) may use.
func (p Params) InflateWindowBits(server bool) int {
	return p.CompressWindowBits(!server)
}

// NewCompressor returns the compressor for the messages the endpoint playing
// server (or client) sends, at the given compress/flate level.
func (p Params) NewCompressor(server bool, level int) (*Compressor, error) {
	return NewCompressor(level, p.CompressorResets(server), p.CompressWindowBits(server))
}

// NewDecompressor returns the decompressor for the messages the endpoint
// playing server (or client) receives.
func (p Params) NewDecompressor(server bool) *Decompressor {
	return NewDecompressor(p.InflaterResets(server))
}

// NegotiationError is a response element the client must refuse (RFC 7692
// §7.1: "A client MUST _Fail the WebSocket Connection_ if the peer server
// accepted an extension negotiation offer for this extension with an
// extension negotiation response meeting any of the following
// conditions").
type NegotiationError struct {
	Param  string // the offending parameter, "" when none in particular
	Reason string
}

func (e *NegotiationError) Error() string {
	if e.Param == "" {
		return "deflate: bad permessage-deflate response: " + e.Reason
	}
	return "deflate: bad permessage-deflate response: " + e.Param + ": " + e.Reason
}

// ErrNotDeflate is returned for an extension element that is not
// permessage-deflate.
var ErrNotDeflate = errors.New("deflate: extension is not " + ExtensionName)

// element is one offer or response element, parsed.
type element struct {
	serverNoCtx, clientNoCtx bool
	serverBits               int // 0: absent
	clientBits               int // 0: absent, Valueless: present without value
}

// parseElement parses the parameters of one element. offer selects the
// offer rules (client_max_window_bits may have no value); a response
// requires a value. RFC 7692 §7.1: an element with "an extension parameter
// not defined for use in" it, "an extension parameter with an invalid
// value" or "multiple extension parameters with the same name" is declined
// (offer) or fails the connection (response).
func parseElement(ext handshake.Extension, offer bool) (element, *NegotiationError) {
	var el element
	var seen [4]bool
	for _, p := range ext.Params {
		var idx int
		switch p.Name {
		case paramServerNoContextTakeover:
			idx = 0
		case paramClientNoContextTakeover:
			idx = 1
		case paramServerMaxWindowBits:
			idx = 2
		case paramClientMaxWindowBits:
			idx = 3
		default:
			return el, &NegotiationError{p.Name, "unknown parameter"}
		}
		if seen[idx] {
			return el, &NegotiationError{p.Name, "duplicate parameter"}
		}
		seen[idx] = true
		switch idx {
		case 0, 1:
			// §7.1.1.1, §7.1.1.2: "This extension parameter has no value."
			if p.HasValue {
				return el, &NegotiationError{p.Name, "must not have a value"}
			}
			if idx == 0 {
				el.serverNoCtx = true
			} else {
				el.clientNoCtx = true
			}
		case 2:
			// §7.1.2.1: the value is required in offers and responses.
			bits, ok := parseWindowBits(p)
			if !ok {
				return el, &NegotiationError{p.Name, "value must be 8 to 15 without leading zeroes"}
			}
			el.serverBits = bits
		case 3:
			// §7.1.2.2: no value or 8-15 in an offer; in a response
			// "the server MUST include a value".
			if !p.HasValue && offer {
				el.clientBits = Valueless
				continue
			}
			bits, ok := parseWindowBits(p)
			if !ok {
				return el, &NegotiationError{p.Name, "value must be 8 to 15 without leading zeroes"}
			}
			el.clientBits = bits
		}
	}
	return el, nil
}

// parseWindowBits parses "a decimal integer value without leading zeroes
// between 8 to 15 inclusive" (RFC 7692 §7.1.2.1, §7.1.2.2).
func parseWindowBits(p handshake.Param) (int, bool) {
	if !p.HasValue || len(p.Value) == 0 || len(p.Value) > 2 || p.Value[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(p.Value); i++ {
		c := p.Value[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n < MinWindowBits || n > MaxWindowBits {
		return 0, false
	}
	return n, true
}

// ParseResponse returns the parameters of an accepted permessage-deflate
// response element (what handshake.Result.Extensions holds), validating its
// syntax. Both roles use it once the handshake succeeded.
func ParseResponse(ext handshake.Extension) (Params, error) {
	if ext.Name != ExtensionName {
		return Params{}, ErrNotDeflate
	}
	el, nerr := parseElement(ext, false)
	if nerr != nil {
		return Params{}, nerr
	}
	return el.params(), nil
}

func (el element) params() Params {
	p := Params{
		ServerNoContextTakeover: el.serverNoCtx,
		ClientNoContextTakeover: el.clientNoCtx,
		ServerMaxWindowBits:     MaxWindowBits,
		ClientMaxWindowBits:     MaxWindowBits,
	}
	if el.serverBits > 0 {
		p.ServerMaxWindowBits = el.serverBits
	}
	if el.clientBits > 0 {
		p.ClientMaxWindowBits = el.clientBits
	}
	return p
}

// Server negotiates permessage-deflate on the server side; it implements
// handshake.ServerExtension. The zero value accepts the first valid offer
// as it is. A Server is read-only once in use and safe for concurrent
// handshakes.
type Server struct {
	// ServerNoContextTakeover makes the server compress every message on
	// its own even when the client did not ask (§7.1.1.1 allows the
	// response to carry server_no_context_takeover regardless): no
	// compressor stays allocated on an idle connection.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover asks the client to do the same
	// (§7.1.1.2), so the server's decompressor is pooled between messages.
	// It is also answered whenever the offer carries it.
	ClientNoContextTakeover bool
	// ServerMaxWindowBits, 8-14, limits the server's own window and says
	// so in every response (§7.1.2.1); 0 or 15: no limit unless the offer
	// asks. A smaller window keeps less compressor state (see Compressor)
	// and compresses somewhat less.
	ServerMaxWindowBits int
	// ClientMaxWindowBits, 8-14, asks the client to limit its window, when
	// its offer carries client_max_window_bits (§7.1.2.2 forbids it
	// otherwise; the offer is still accepted). 0 or 15: no request.
	ClientMaxWindowBits int
}

// Name returns "permessage-deflate".
func (s *Server) Name() string { return ExtensionName }

// Negotiate picks the first offer it can accept and returns the response
// element with the parameters the connection will use (RFC 7692 §5, §7.1).
// Offers with unknown, duplicate or invalid parameters are declined ("A
// server MUST decline an extension negotiation offer for this extension if
// any of the following conditions are met"), and the next is tried. Every
// valid offer is acceptable: our decompressor handles any window and our
// compressor can honour any window limit.
func (s *Server) Negotiate(offers []handshake.Extension) (handshake.Extension, bool) {
	for _, o := range offers {
		if o.Name != ExtensionName {
			continue
		}
		el, err := parseElement(o, true)
		if err != nil {
			continue
		}
		return s.respond(el), true
	}
	return handshake.Extension{}, false
}

func (s *Server) respond(el element) handshake.Extension {
	resp := handshake.Extension{Name: ExtensionName}
	// §7.1.1.1: "A server accepts an extension negotiation offer that
	// includes the "server_no_context_takeover" extension parameter by
	// including the "server_no_context_takeover" extension parameter in the
	// corresponding extension negotiation response".
	if el.serverNoCtx || s.ServerNoContextTakeover {
		resp.Params = append(resp.Params, handshake.Param{Name: paramServerNoContextTakeover})
	}
	// §7.1.1.2: the server may use an offered client_no_context_takeover
	// "to avoid taking over the LZ77 sliding window unnecessarily by
	// including the "client_no_context_takeover" extension parameter in the
	// corresponding extension negotiation response".
	if el.clientNoCtx || s.ClientNoContextTakeover {
		resp.Params = append(resp.Params, handshake.Param{Name: paramClientNoContextTakeover})
	}
	// §7.1.2.1: accept a server_max_window_bits offer "by including the
	// "server_max_window_bits" extension parameter in the extension
	// negotiation response ... with the same or smaller value as the offer";
	// the server MAY include it even when the offer did not.
	bits := 0
	if limit := s.ServerMaxWindowBits; limit >= MinWindowBits && limit < MaxWindowBits {
		bits = limit
	}
	if el.serverBits > 0 && (bits == 0 || el.serverBits < bits) {
		bits = el.serverBits
	}
	if bits > 0 {
		resp.Params = append(resp.Params, windowParam(paramServerMaxWindowBits, bits))
	}
	// §7.1.2.2: "If a received extension negotiation offer doesn't have the
	// "client_max_window_bits" extension parameter, the corresponding
	// extension negotiation response to the offer MUST NOT include the
	// "client_max_window_bits" extension parameter." With it, the server
	// may answer a limit, no larger than an offered value.
	if el.clientBits != 0 {
		bits := 0
		if limit := s.ClientMaxWindowBits; limit >= MinWindowBits && limit < MaxWindowBits {
			bits = limit
		}
		if el.clientBits > 0 && (bits == 0 || el.clientBits < bits) {
			bits = el.clientBits
		}
		if bits > 0 {
			resp.Params = append(resp.Params, windowParam(paramClientMaxWindowBits, bits))
		}
	}
	return resp
}

var windowValues = [...]string{"8", "9", "10", "11", "12", "13", "14", "15"}

func windowParam(name string, bits int) handshake.Param {
	return handshake.Param{Name: name, Value: windowValues[bits-MinWindowBits], HasValue: true}
}

// Offer is one permessage-deflate offer element a client sends (RFC 7692
// §7.1).
type Offer struct {
	// ServerNoContextTakeover asks the server to compress every message on
	// its own (§7.1.1.1).
	ServerNoContextTakeover bool
	// ClientNoContextTakeover tells the server we compress every message
	// on our own (§7.1.1.2).
	ClientNoContextTakeover bool
	// ServerMaxWindowBits, 8-15, asks the server to limit its window
	// (§7.1.2.1); 0 leaves it out.
	ServerMaxWindowBits int
	// ClientMaxWindowBits, 8-15, limits our own window and says so;
	// Valueless sends the parameter without a value, which lets the server
	// choose our limit; 0 leaves it out (the server may then not limit us,
	// §7.1.2.2).
	ClientMaxWindowBits int
}

// DefaultOffers is what a Client with no Offers sends: one offer,
// `permessage-deflate; client_max_window_bits`, the most permissive one
// (the server may choose every parameter, and our compressor honours any
// window limit), as browsers send.
var DefaultOffers = []Offer{{ClientMaxWindowBits: Valueless}}

// Extension returns the offer's wire element.
func (o Offer) Extension() handshake.Extension {
	ext := handshake.Extension{Name: ExtensionName}
	if o.ServerNoContextTakeover {
		ext.Params = append(ext.Params, handshake.Param{Name: paramServerNoContextTakeover})
	}
	if o.ClientNoContextTakeover {
		ext.Params = append(ext.Params, handshake.Param{Name: paramClientNoContextTakeover})
	}
	if b := o.ServerMaxWindowBits; b >= MinWindowBits && b <= MaxWindowBits {
		ext.Params = append(ext.Params, windowParam(paramServerMaxWindowBits, b))
	}
	switch b := o.ClientMaxWindowBits; {
	case b == Valueless:
		ext.Params = append(ext.Params, handshake.Param{Name: paramClientMaxWindowBits})
	case b >= MinWindowBits && b <= MaxWindowBits:
		ext.Params = append(ext.Params, windowParam(paramClientMaxWindowBits, b))
	}
	return ext
}

func (o Offer) valid() bool {
	okBits := func(b int) bool { return b == 0 || (b >= MinWindowBits && b <= MaxWindowBits) }
	return okBits(o.ServerMaxWindowBits) && (okBits(o.ClientMaxWindowBits) || o.ClientMaxWindowBits == Valueless)
}

// Client negotiates permessage-deflate on the client side; it implements
// handshake.ClientExtension. A Client is read-only once in use and safe for
// concurrent handshakes.
// The zero value sends DefaultOffers.
type Client struct {
	list []Offer
}

// NewClient returns a Client sending offers in this order, the preferred
// first, or DefaultOffers if none. Offers with out-of-range window sizes
// are not sent.
func NewClient(offers ...Offer) *Client {
	return &Client{list: append([]Offer(nil), offers...)}
}

func (c *Client) offers() []Offer {
	if c == nil || len(c.list) == 0 {
		return DefaultOffers
	}
	return c.list
}

// Name returns "permessage-deflate".
func (c *Client) Name() string { return ExtensionName }

// Offers returns the offer elements, in order of preference.
func (c *Client) Offers() []handshake.Extension {
	var exts []handshake.Extension
	for _, o := range c.offers() {
		if o.valid() {
			exts = append(exts, o.Extension())
		}
	}
	return exts
}

// Accept validates the server's response element (RFC 7692 §7.1): it must
// have only known parameters, each at most once, with valid values, and be
// a valid answer to at least one of our offers: server_no_context_takeover
// present if that offer asked for it (§7.1.1.1), server_max_window_bits
// present and no larger if that offer asked for a limit (§7.1.2.1), and
// client_max_window_bits only if that offer had the parameter, and no
// larger than its value (§7.1.2.2). Use Params for what was agreed.
func (c *Client) Accept(resp handshake.Extension) error {
	_, err := c.Params(resp)
	return err
}

// Params validates resp like Accept and returns the parameters the
// connection uses: those of the response, tightened by the first offer it
// answers, since an offer's client_no_context_takeover and
// client_max_window_bits value bind the client even when the response
// leaves them out (§7.1.1.2, §7.1.2.2: "the client is not going to use").
func (c *Client) Params(resp handshake.Extension) (Params, error) {
	if resp.Name != ExtensionName {
		return Params{}, ErrNotDeflate
	}
	el, nerr := parseElement(resp, false)
	if nerr != nil {
		return Params{}, nerr
	}
	var last *NegotiationError
	for _, o := range c.offers() {
		if !o.valid() {
			continue
		}
		if last = matchOffer(o, el); last != nil {
			continue
		}
		p := el.params()
		if o.ClientNoContextTakeover {
			p.ClientNoContextTakeover = true
		}
		if o.ClientMaxWindowBits > 0 && o.ClientMaxWindowBits < p.ClientMaxWindowBits {
			p.ClientMaxWindowBits = o.ClientMaxWindowBits
		}
		return p, nil
	}
	if last == nil {
		last = &NegotiationError{"", "no offer was sent"}
	}
	return Params{}, last
}

// matchOffer reports why el is not a valid response to o, or nil.
func matchOffer(o Offer, el element) *NegotiationError {
	if o.ServerNoContextTakeover && !el.serverNoCtx {
		return &NegotiationError{paramServerNoContextTakeover, "requested but missing from the response"}
	}
	if o.ServerMaxWindowBits > 0 {
		if el.serverBits == 0 {
			return &NegotiationError{paramServerMaxWindowBits, "requested but missing from the response"}
		}
		if el.serverBits > o.ServerMaxWindowBits {
			return &NegotiationError{paramServerMaxWindowBits, "larger than requested"}
		}
	}
	if el.clientBits != 0 {
		if o.ClientMaxWindowBits == 0 {
			return &NegotiationError{paramClientMaxWindowBits, "not offered"}
		}
		if o.ClientMaxWindowBits > 0 && el.clientBits > o.ClientMaxWindowBits {
			return &NegotiationError{paramClientMaxWindowBits, "larger than offered"}
		}
	}
	return nil
}
