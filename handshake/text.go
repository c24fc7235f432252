package handshake

import "strconv"

// text is the type set of header text: net/http gives strings, the raw path
// gives slices of the bufio.Reader's buffer (no copies).
type text interface{ ~string | ~[]byte }

// isTokenChar reports whether c is a tchar (RFC 7230 §3.2.6).
func isTokenChar(c byte) bool {
	return tokenTable[c]
}

var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// tokenEnd returns the index of the first non-tchar at or after i.
func tokenEnd[T text](s T, i int) int {
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return i
}

// isToken reports whether s is a non-empty token.
func isToken[T text](s T) bool {
	return len(s) > 0 && tokenEnd(s, 0) == len(s)
}

// skipOWS skips optional whitespace (SP, HTAB) from i.
func skipOWS[T text](s T, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// trimOWS removes leading and trailing optional whitespace.
func trimOWS[T text](s T) T {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether a and b are equal under ASCII case folding.
func equalFold[T, U text](a T, b U) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// nextListElement returns the next element of a comma-separated list (trimmed
// of OWS, possibly empty) and the rest after the comma.
func nextListElement[T text](s T) (elem, rest T, ok bool) {
	if len(s) == 0 {
		return s, s, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return trimOWS(s[:i]), s[i+1:], true
		}
	}
	return trimOWS(s), s[len(s):], true
}

// hasToken reports whether the comma-separated list s contains tok, compared
// case-insensitively (RFC 7230 §7, RFC 6455 §4.2.1: Firefox sends
// "Connection: keep-alive, Upgrade").
func hasToken[T text](s T, tok string) bool {
	for e, rest, ok := nextListElement(s); ok; e, rest, ok = nextListElement(rest) {
		if equalFold(e, tok) {
			return true
		}
	}
	return false
}

// sanitizeQuote quotes s for a one-line reason.
func sanitizeQuote[T text](s T) string {
	return strconv.Quote(string(s))
}
