package deflate

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/handshake"
)

func parseExts(t *testing.T, s string) []handshake.Extension {
	t.Helper()
	exts, err := handshake.ParseExtensions([]string{s})
	if err != nil {
		t.Fatalf("ParseExtensions(%q): %v", s, err)
	}
	return exts
}

func TestServerNegotiate(t *testing.T) {
	tests := []struct {
		name   string
		server Server
		offers string
		want   string // "" : declined
	}{
		{"bare", Server{}, "permessage-deflate", "permessage-deflate"},
		{"browser default", Server{}, "permessage-deflate; client_max_window_bits", "permessage-deflate"},
		{"server_no_context_takeover", Server{}, "permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"},
		{"client_no_context_takeover", Server{}, "permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"},
		{"server_max_window_bits 8", Server{}, "permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8"},
		{"server_max_window_bits 10", Server{}, "permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10"},
		{"server_max_window_bits 15", Server{}, "permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15"},
		{"server_max_window_bits quoted", Server{}, `permessage-deflate; server_max_window_bits="9"`, "permessage-deflate; server_max_window_bits=9"},
		{"client_max_window_bits 12", Server{}, "permessage-deflate; client_max_window_bits=12", "permessage-deflate; client_max_window_bits=12"},
		{"all four", Server{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=9",
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=9"},

		{"unknown parameter", Server{}, "permessage-deflate; mem_level=8", ""},
		{"duplicate server_no_context_takeover", Server{}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", ""},
		{"duplicate client_max_window_bits", Server{}, "permessage-deflate; client_max_window_bits; client_max_window_bits=10", ""},
		{"server_no_context_takeover with value", Server{}, "permessage-deflate; server_no_context_takeover=1", ""},
		{"client_no_context_takeover with value", Server{}, "permessage-deflate; client_no_context_takeover=true", ""},
		{"server_max_window_bits without value", Server{}, "permessage-deflate; server_max_window_bits", ""},
		{"server_max_window_bits 7", Server{}, "permessage-deflate; server_max_window_bits=7", ""},
		{"server_max_window_bits 16", Server{}, "permessage-deflate; server_max_window_bits=16", ""},
		{"server_max_window_bits leading zero", Server{}, "permessage-deflate; server_max_window_bits=09", ""},
		{"server_max_window_bits not a number", Server{}, "permessage-deflate; server_max_window_bits=x", ""},
		{"server_max_window_bits signed", Server{}, "permessage-deflate; server_max_window_bits=+9", ""},
		{"client_max_window_bits 7", Server{}, "permessage-deflate; client_max_window_bits=7", ""},
		{"client_max_window_bits 100", Server{}, "permessage-deflate; client_max_window_bits=100", ""},
		{"parameter name case", Server{}, "permessage-deflate; Server_No_Context_Takeover", ""},

		{"fallback after unknown parameter", Server{}, "permessage-deflate; foo, permessage-deflate; client_max_window_bits", "permessage-deflate"},
		{"fallback after invalid value", Server{}, "permessage-deflate; server_max_window_bits=20, permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=12"},
		{"first acceptable wins", Server{}, "permessage-deflate; server_max_window_bits=10, permessage-deflate", "permessage-deflate; server_max_window_bits=10"},
		{"all declined", Server{}, "permessage-deflate; a, permessage-deflate; b", ""},
		{"other extensions skipped", Server{}, "x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"},

		{"config server_no_context_takeover", Server{ServerNoContextTakeover: true}, "permessage-deflate", "permessage-deflate; server_no_context_takeover"},
		{"config client_no_context_takeover", Server{ClientNoContextTakeover: true}, "permessage-deflate", "permessage-deflate; client_no_context_takeover"},
		{"config server window, none offered", Server{ServerMaxWindowBits: 10}, "permessage-deflate", "permessage-deflate; server_max_window_bits=10"},
		{"config server window, smaller offered", Server{ServerMaxWindowBits: 10}, "permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9"},
		{"config server window, larger offered", Server{ServerMaxWindowBits: 10}, "permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=10"},
		{"config server window 15 is no limit", Server{ServerMaxWindowBits: 15}, "permessage-deflate", "permessage-deflate"},
		{"config client window, valueless offered", Server{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=10"},
		{"config client window, smaller offered", Server{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9"},
		{"config client window, not offered", Server{ClientMaxWindowBits: 10}, "permessage-deflate", "permessage-deflate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, ok := tt.server.Negotiate(parseExts(t, tt.offers))
			got := ""
			if ok {
				got = resp.String()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("response (-want +got):\n%s", diff)
			}
			if ok {
				// The response parses back and is accepted by ParseResponse.
				if _, err := ParseResponse(resp); err != nil {
					t.Fatalf("ParseResponse(own response): %v", err)
				}
			}
		})
	}
}

// TestAutobahn13Offers: the client offers of Autobahn testsuite cases 13.1
// to 13.7 (case12_x_x.py, DEFLATE_PARAMS; the PerMessageDeflateOffer default
// sends client_no_context_takeover and client_max_window_bits) are all
// accepted, and what our compressor then does.
func TestAutobahn13Offers(t *testing.T) {
	tests := []struct {
		name      string
		offers    string
		want      string
		params    Params
		compLevel int // the level our compressor uses when asked for 6: the same at every window
	}{
		{"13.1", "permessage-deflate; client_no_context_takeover; client_max_window_bits",
			"permessage-deflate; client_no_context_takeover",
			Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, 6},
		{"13.2", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover",
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			Params{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, 6},
		{"13.3", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=8",
			"permessage-deflate; client_no_context_takeover; server_max_window_bits=8",
			Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 8, ClientMaxWindowBits: 15}, 6},
		{"13.4", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=15",
			"permessage-deflate; client_no_context_takeover; server_max_window_bits=15",
			Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, 6},
		{"13.5", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8",
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
			Params{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 8, ClientMaxWindowBits: 15}, 6},
		{"13.6", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=15",
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15",
			Params{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, 6},
		{"13.7", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8, " +
			"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, " +
			"permessage-deflate; client_no_context_takeover; client_max_window_bits",
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
			Params{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 8, ClientMaxWindowBits: 15}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Server
			resp, ok := s.Negotiate(parseExts(t, tt.offers))
			if !ok {
				t.Fatal("declined")
			}
			if diff := cmp.Diff(tt.want, resp.String()); diff != "" {
				t.Fatalf("response (-want +got):\n%s", diff)
			}
			p, err := ParseResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.params, p); diff != "" {
				t.Fatalf("params (-want +got):\n%s", diff)
			}
			c, err := p.NewCompressor(true, 6)
			if err != nil {
				t.Fatal(err)
			}
			if c.Level() != tt.compLevel {
				t.Fatalf("compressor level %d, want %d", c.Level(), tt.compLevel)
			}
		})
	}
}

// TestAutobahn13Responses: the responses Autobahn's fuzzingserver sends to
// our default offer in cases 13.x (accept1 to accept7 of case12_x_x.py,
// PerMessageDeflateOfferAccept) are accepted by our client.
func TestAutobahn13Responses(t *testing.T) {
	tests := []struct {
		name   string
		resp   string
		params Params
	}{
		{"accept1", "permessage-deflate", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{"accept2", "permessage-deflate; client_no_context_takeover", Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{"accept3", "permessage-deflate; client_max_window_bits=8", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 8}},
		{"accept4", "permessage-deflate; client_max_window_bits=15", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{"accept5", "permessage-deflate; client_no_context_takeover; client_max_window_bits=8", Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 8}},
		{"accept6", "permessage-deflate; client_no_context_takeover; client_max_window_bits=15", Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	}
	var c Client
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exts := parseExts(t, tt.resp)
			if err := c.Accept(exts[0]); err != nil {
				t.Fatal(err)
			}
			p, err := c.Params(exts[0])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.params, p); diff != "" {
				t.Fatalf("params (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientAccept(t *testing.T) {
	tests := []struct {
		name    string
		offers  []Offer
		resp    string
		wantErr string // substring; "" for success
		params  Params
	}{
		{"plain", nil, "permessage-deflate", "", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{"client window chosen by server", nil, "permessage-deflate; client_max_window_bits=10", "", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 10}},
		{"server window announced unasked", nil, "permessage-deflate; server_max_window_bits=9", "", Params{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}},
		{"server_no_context_takeover unasked", nil, "permessage-deflate; server_no_context_takeover", "", Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{"client window not offered", []Offer{{}}, "permessage-deflate; client_max_window_bits=10", "client_max_window_bits: not offered", Params{}},
		{"client window without value", nil, "permessage-deflate; client_max_window_bits", "client_max_window_bits: value must be", Params{}},
		{"client window larger than offered", []Offer{{ClientMaxWindowBits: 10}}, "permessage-deflate; client_max_window_bits=12", "larger than offered", Params{}},
		{"client window hint binds", []Offer{{ClientMaxWindowBits: 10}}, "permessage-deflate", "", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 10}},
		{"client no-takeover hint binds", []Offer{{ClientNoContextTakeover: true}}, "permessage-deflate", "", Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{"unknown parameter", nil, "permessage-deflate; x=1", "x: unknown parameter", Params{}},
		{"duplicate parameter", nil, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", "duplicate", Params{}},
		{"no-takeover with value", nil, "permessage-deflate; client_no_context_takeover=1", "must not have a value", Params{}},
		{"server window 16", nil, "permessage-deflate; server_max_window_bits=16", "value must be", Params{}},
		{"server window 08", nil, "permessage-deflate; server_max_window_bits=08", "value must be", Params{}},
		{"server window missing", []Offer{{ServerMaxWindowBits: 10}}, "permessage-deflate", "server_max_window_bits: requested but missing", Params{}},
		{"server window larger", []Offer{{ServerMaxWindowBits: 10}}, "permessage-deflate; server_max_window_bits=11", "larger than requested", Params{}},
		{"server window smaller", []Offer{{ServerMaxWindowBits: 10}}, "permessage-deflate; server_max_window_bits=9", "", Params{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}},
		{"server no-takeover missing", []Offer{{ServerNoContextTakeover: true}}, "permessage-deflate", "server_no_context_takeover: requested but missing", Params{}},
		{"fallback offer matches", []Offer{{ServerNoContextTakeover: true, ServerMaxWindowBits: 10}, {ClientMaxWindowBits: Valueless}}, "permessage-deflate; client_max_window_bits=12", "", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 12}},
		{"first offer matches", []Offer{{ServerNoContextTakeover: true, ServerMaxWindowBits: 10}, {}}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10", "", Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 10, ClientMaxWindowBits: 15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(tt.offers...)
			resp := parseExts(t, tt.resp)[0]
			p, err := c.Params(resp)
			if errA := c.Accept(resp); (errA == nil) != (err == nil) {
				t.Fatalf("Accept %v but Params %v", errA, err)
			}
			if tt.wantErr != "" {
				var ne *NegotiationError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ne) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.params, p); diff != "" {
				t.Fatalf("params (-want +got):\n%s", diff)
			}
		})
	}
	var c Client
	if err := c.Accept(handshake.Extension{Name: "x-webkit-deflate-frame"}); !errors.Is(err, ErrNotDeflate) {
		t.Fatalf("other extension: %v", err)
	}
	if _, err := ParseResponse(handshake.Extension{Name: "foo"}); !errors.Is(err, ErrNotDeflate) {
		t.Fatalf("ParseResponse other extension: %v", err)
	}
}

func TestClientOffers(t *testing.T) {
	tests := []struct {
		name   string
		client *Client
		want   []string
	}{
		{"zero value", &Client{}, []string{"permessage-deflate; client_max_window_bits"}},
		{"nil offers", NewClient(), []string{"permessage-deflate; client_max_window_bits"}},
		{"every parameter", NewClient(Offer{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 10, ClientMaxWindowBits: 9}),
			[]string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"}},
		{"fallback", NewClient(Offer{ServerMaxWindowBits: 10}, Offer{}),
			[]string{"permessage-deflate; server_max_window_bits=10", "permessage-deflate"}},
		{"invalid offer skipped", NewClient(Offer{ServerMaxWindowBits: 20}, Offer{ClientMaxWindowBits: 3}, Offer{ClientMaxWindowBits: Valueless}),
			[]string{"permessage-deflate; client_max_window_bits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range tt.client.Offers() {
				got = append(got, e.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if tt.client.Name() != "permessage-deflate" {
				t.Fatalf("Name() = %q", tt.client.Name())
			}
		})
	}
}

// TestNegotiateAgree: for every offer and every server configuration, the
// server's response is accepted by the client that sent the offer, both
// sides agree on the Params, and the server honours what was asked.
func TestNegotiateAgree(t *testing.T) {
	bools := []bool{false, true}
	n := 0
	for _, snct := range bools {
		for _, cnct := range bools {
			for _, smwb := range []int{0, 8, 12, 15} {
				for _, cmwb := range []int{0, Valueless, 8, 12, 15} {
					offer := Offer{snct, cnct, smwb, cmwb}
					for _, cfgS := range bools {
						for _, cfgC := range bools {
							for _, cfgSW := range []int{0, 9, 15} {
								for _, cfgCW := range []int{0, 9, 15} {
									srv := Server{cfgS, cfgC, cfgSW, cfgCW}
									name := fmt.Sprintf("%+v/%+v", offer, srv)
									cl := NewClient(offer)
									resp, ok := srv.Negotiate(cl.Offers())
									if !ok {
										t.Fatalf("%s: declined", name)
									}
									cp, err := cl.Params(resp)
									if err != nil {
										t.Fatalf("%s: client refused %q: %v", name, resp, err)
									}
									sp, err := ParseResponse(resp)
									if err != nil {
										t.Fatal(err)
									}
									if diff := cmp.Diff(sp, cp); diff != "" {
										t.Fatalf("%s: server and client disagree on %q (-server +client):\n%s", name, resp, diff)
									}
									if (snct || cfgS) != sp.ServerNoContextTakeover {
										t.Fatalf("%s: server_no_context_takeover not honoured", name)
									}
									if smwb > 0 && sp.ServerMaxWindowBits > smwb {
										t.Fatalf("%s: server window %d above %d", name, sp.ServerMaxWindowBits, smwb)
									}
									if cfgSW == 9 && sp.ServerMaxWindowBits > 9 {
										t.Fatalf("%s: server window limit not announced", name)
									}
									n++
								}
							}
						}
					}
				}
			}
		}
	}
	if n != 2*2*4*5*2*2*3*3 {
		t.Fatalf("%d combinations", n)
	}
}

func TestParamsRoles(t *testing.T) {
	p := Params{ServerNoContextTakeover: true, ClientNoContextTakeover: false, ServerMaxWindowBits: 10, ClientMaxWindowBits: 15}
	type view struct {
		CompressorResets, InflaterResets bool
		CompressBits, InflateBits        int
	}
	for _, tt := range []struct {
		name   string
		server bool
		want   view
	}{
		{"server", true, view{true, false, 10, 15}},
		{"client", false, view{false, true, 15, 10}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := view{p.CompressorResets(tt.server), p.InflaterResets(tt.server), p.CompressWindowBits(tt.server), p.InflateWindowBits(tt.server)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}
