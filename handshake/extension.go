package handshake

import (
	"net/http"
	"strings"
)

// Param is one extension parameter (RFC 6455 §9.1). A parameter without a
// value has HasValue false and Value "". A quoted-string value is stored
// unquoted.
type Param struct {
	Name     string
	Value    string
	HasValue bool
}

// Extension is one offer or response element of Sec-WebSocket-Extensions
// (RFC 6455 §9.1).
type Extension struct {
	Name   string
	Params []Param
}

// String returns the wire form, e.g. `permessage-deflate; client_max_window_bits`.
func (e Extension) String() string {
	return string(appendExtension(nil, e))
}

// ServerExtension negotiates one extension on the server side
// (permessage-deflate implements it).
type ServerExtension interface {
	Name() string // the extension token, e.g. "permessage-deflate"
	// Negotiate gets every offer of this extension in the client's order of
	// preference and returns the response element to send, or ok=false to
	// decline them all (the extension is then simply not used).
	Negotiate(offers []Extension) (response Extension, ok bool)
}

// ClientExtension negotiates one extension on the client side.
type ClientExtension interface {
	Name() string
	// Offers returns the offers, sent in this order, as separate elements of
	// Sec-WebSocket-Extensions.
	Offers() []Extension
	// Accept validates the server's response element for this extension; an
	// error fails the handshake.
	Accept(response Extension) error
}

// Result is what a successful handshake agreed on (both roles). On the
// client side (ReadResponse, Dial) it also holds the server's 101 response:
// its status and every header field, so that Set-Cookie and the server's own
// headers are readable; on the server side these stay zero.
type Result struct {
	Subprotocol string      // "" when none was agreed
	Extensions  []Extension // accepted response elements, in response order

	StatusCode int         // client side: 101
	Status     string      // client side: status code and reason phrase, e.g. "101 Switching Protocols"
	Header     http.Header // client side: the 101 response's header fields, keys canonical
}

// ParseExtensions parses all Sec-WebSocket-Extensions header values (several
// header lines allowed) with the RFC 6455 §9.1 grammar:
//
//	extension-list  = 1#extension
//	extension       = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
//
// Optional whitespace is allowed around the separators and empty list
// elements are ignored (RFC 7230 §7). A quoted-string value is unescaped and,
// as §9.1 requires, MUST then conform to the token ABNF. Malformed input
// returns an *Error with Status 400 matching ErrBadExtensions.
func ParseExtensions(values []string) ([]Extension, error) {
	var exts []Extension
	for _, v := range values {
		var err *Error
		exts, err = parseExtensionList(exts, v)
		if err != nil {
			return nil, err
		}
	}
	return exts, nil
}

func parseExtensionList(exts []Extension, s string) ([]Extension, *Error) {
	i := 0
	for {
		i = skipOWS(s, i)
		if i == len(s) {
			return exts, nil
		}
		if s[i] == ',' { // empty list element
			i++
			continue
		}
		n := tokenEnd(s, i)
		if n == i {
			return nil, newError(ErrBadExtensions, "expected extension token at "+quoteAt(s, i))
		}
		ext := Extension{Name: s[i:n]}
		i = skipOWS(s, n)
		for i < len(s) && s[i] == ';' {
			i = skipOWS(s, i+1)
			n = tokenEnd(s, i)
			if n == i {
				return nil, newError(ErrBadExtensions, "expected parameter name at "+quoteAt(s, i))
			}
			p := Param{Name: s[i:n]}
			i = skipOWS(s, n)
			if i < len(s) && s[i] == '=' {
				i = skipOWS(s, i+1)
				p.HasValue = true
				if i < len(s) && s[i] == '"' {
					val, end, ok := unquote(s, i)
					if !ok {
						return nil, newError(ErrBadExtensions, "unterminated quoted-string in parameter "+p.Name)
					}
					if val == "" || tokenEnd(val, 0) != len(val) {
						// RFC 6455 §9.1: "the value after quoted-string
						// unescaping MUST conform to the 'token' ABNF."
						return nil, newError(ErrBadExtensions, "quoted value of parameter "+p.Name+" is not a token")
					}
					p.Value = val
					i = end
				} else {
					n = tokenEnd(s, i)
					if n == i {
						return nil, newError(ErrBadExtensions, "expected value of parameter "+p.Name)
					}
					p.Value = s[i:n]
					i = n
				}
				i = skipOWS(s, i)
			}
			ext.Params = append(ext.Params, p)
		}
		exts = append(exts, ext)
		if i == len(s) {
			return exts, nil
		}
		if s[i] != ',' {
			return nil, newError(ErrBadExtensions, "unexpected character at "+quoteAt(s, i))
		}
		i++
	}
}

// unquote decodes the quoted-string starting at s[i] == '"' and returns its
// value and the index after the closing quote.
func unquote(s string, i int) (string, int, bool) {
	j := i + 1
	// Fast path: no escapes.
	for ; j < len(s) && s[j] != '"' && s[j] != '\\'; j++ {
	}
	if j < len(s) && s[j] == '"' {
		return s[i+1 : j], j + 1, true
	}
	var b strings.Builder
	b.WriteString(s[i+1 : j])
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return b.String(), j + 1, true
		case c == '\\':
			if j+1 == len(s) {
				return "", 0, false
			}
			b.WriteByte(s[j+1])
			j += 2
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", 0, false
}

// quoteAt describes position i of s for an error reason.
func quoteAt(s string, i int) string {
	if i >= len(s) {
		return "end of value"
	}
	rest := s[i:]
	if len(rest) > 16 {
		rest = rest[:16]
	}
	return sanitizeQuote(rest)
}

// AppendExtensions appends the comma-separated wire form of exts to dst.
func AppendExtensions(dst []byte, exts []Extension) []byte {
	for i, e := range exts {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendExtension(dst, e)
	}
	return dst
}

func appendExtension(dst []byte, e Extension) []byte {
	dst = append(dst, e.Name...)
	for _, p := range e.Params {
		dst = append(dst, "; "...)
		dst = append(dst, p.Name...)
		if p.HasValue {
			dst = append(dst, '=')
			if p.Value != "" && tokenEnd(p.Value, 0) == len(p.Value) {
				dst = append(dst, p.Value...)
			} else {
				dst = append(dst, '"')
				for k := 0; k < len(p.Value); k++ {
					c := p.Value[k]
					if c == '"' || c == '\\' {
						dst = append(dst, '\\')
					}
					if c == '\r' || c == '\n' {
						c = ' '
					}
					dst = append(dst, c)
				}
				dst = append(dst, '"')
			}
		}
	}
	return dst
}
