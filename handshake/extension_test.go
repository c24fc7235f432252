package handshake

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseExtensions(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []Extension
	}{
		{"none", nil, nil},
		{"empty value", []string{""}, nil},
		{"token", []string{"foo"}, []Extension{{Name: "foo"}}},
		{"param without value", []string{"permessage-deflate; client_max_window_bits"},
			[]Extension{{Name: "permessage-deflate", Params: []Param{{Name: "client_max_window_bits"}}}}},
		{"token value", []string{"permessage-deflate;server_max_window_bits=10"},
			[]Extension{{Name: "permessage-deflate", Params: []Param{{Name: "server_max_window_bits", Value: "10", HasValue: true}}}}},
		{"quoted value", []string{`permessage-deflate; server_max_window_bits="10"`},
			[]Extension{{Name: "permessage-deflate", Params: []Param{{Name: "server_max_window_bits", Value: "10", HasValue: true}}}}},
		{"escaped quoted value", []string{`x; a="1\0"`},
			[]Extension{{Name: "x", Params: []Param{{Name: "a", Value: "10", HasValue: true}}}}},
		{"whitespace around separators", []string{" x ; a = 1 ; b , y "},
			[]Extension{{Name: "x", Params: []Param{{Name: "a", Value: "1", HasValue: true}, {Name: "b"}}}, {Name: "y"}}},
		{"several offers of one extension", []string{"permessage-deflate; client_max_window_bits=10, permessage-deflate"},
			[]Extension{
				{Name: "permessage-deflate", Params: []Param{{Name: "client_max_window_bits", Value: "10", HasValue: true}}},
				{Name: "permessage-deflate"},
			}},
		{"several header lines", []string{"a", "b; c"},
			[]Extension{{Name: "a"}, {Name: "b", Params: []Param{{Name: "c"}}}}},
		{"empty list elements", []string{", a ,, b ,"}, []Extension{{Name: "a"}, {Name: "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExtensions(tt.values)
			if err != nil {
				t.Fatalf("ParseExtensions(%q): %v", tt.values, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseExtensions(%q) (-want +got):\n%s", tt.values, diff)
			}
		})
	}
}

func TestParseExtensionsMalformed(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		reason string
	}{
		{"missing name", "; a", `malformed Sec-WebSocket-Extensions: expected extension token at "; a"`},
		{"missing parameter name", "x; =1", `malformed Sec-WebSocket-Extensions: expected parameter name at "=1"`},
		{"missing value", "x; a=", "malformed Sec-WebSocket-Extensions: expected value of parameter a"},
		{"unterminated quoted-string", `x; a="10`, "malformed Sec-WebSocket-Extensions: unterminated quoted-string in parameter a"},
		{"unterminated escape", `x; a="1\`, "malformed Sec-WebSocket-Extensions: unterminated quoted-string in parameter a"},
		{"quoted value not a token", `x; a="1 0"`, "malformed Sec-WebSocket-Extensions: quoted value of parameter a is not a token"},
		{"empty quoted value", `x; a=""`, "malformed Sec-WebSocket-Extensions: quoted value of parameter a is not a token"},
		{"separator in name", "x/y", `malformed Sec-WebSocket-Extensions: unexpected character at "/y"`},
		{"space inside token", "per message", `malformed Sec-WebSocket-Extensions: unexpected character at "message"`},
		{"junk after value", "x; a=1 2", `malformed Sec-WebSocket-Extensions: unexpected character at "2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseExtensions([]string{"ok", tt.value})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseExtensions(%q) = %v, want *Error", tt.value, err)
			}
			if diff := cmp.Diff(&Error{Status: 400, Reason: tt.reason}, e); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !errors.Is(err, ErrBadExtensions) {
				t.Errorf("errors.Is(%v, ErrBadExtensions) = false", err)
			}
		})
	}
}

func TestAppendExtensionsRoundTrip(t *testing.T) {
	exts := []Extension{
		{Name: "permessage-deflate", Params: []Param{{Name: "client_max_window_bits"}, {Name: "server_max_window_bits", Value: "10", HasValue: true}}},
		{Name: "x-custom", Params: []Param{{Name: "q", Value: `a "b"`, HasValue: true}}},
		{Name: "permessage-deflate"},
	}
	wire := string(AppendExtensions(nil, exts))
	const want = `permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-custom; q="a \"b\"", permessage-deflate`
	if diff := cmp.Diff(want, wire); diff != "" {
		t.Errorf("AppendExtensions (-want +got):\n%s", diff)
	}
	// The quoted value with spaces is not a token, so §9.1 rejects it on the
	// way back; the token-only elements round-trip.
	tokenOnly := []Extension{exts[0], exts[2]}
	got, err := ParseExtensions([]string{string(AppendExtensions(nil, tokenOnly))})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tokenOnly, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got := exts[0].String(); got != "permessage-deflate; client_max_window_bits; server_max_window_bits=10" {
		t.Errorf("String() = %q", got)
	}
}
