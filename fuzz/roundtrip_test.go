package fuzz

import (
	"bufio"
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/handshake"
)

func init() {
	addSeeds("FuzzHandshakeRoundTrip",
		seed{"rfc-1.3", []any{"ws://server.example.com/chat", "chat,superchat", "http://example.com", uint32(0)}},
		seed{"wss-port-query", []any{"wss://example.com:8443/a/b?x=1&y=%20", "superchat", "", uint32(0x12345)}},
		seed{"ipv6-default-port", []any{"ws://[::1]:80/", "", "https://[::1]", uint32(0xfff)}},
		seed{"no-common-subprotocol", []any{"ws://h/p", "v1.json,v2", "null", uint32(1 << 20)}},
	)
}

// FuzzHandshakeRoundTrip: whatever opening handshake our client writes
// (AppendRequest, from a fuzzed URL, subprotocol list, Origin and
// permessage-deflate offers) our server accepts (Upgrade, any origin
// allowed) if it fits the server's head limit (else 431), and our client accepts the server's 101 (ReadResponse); both
// ends agree on the subprotocol (the server's first preference the client
// offered) and the extensions, and the permessage-deflate parameters both
// ends derive are compatible.
func FuzzHandshakeRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, rawURL, protos, origin string, cfg uint32) {
		u, err := url.Parse(rawURL)
		if err != nil {
			return
		}
		var offered []string
		if protos != "" {
			offered = strings.Split(protos, ",")
		}
		cli := deflate.NewClient(offerFromBits(cfg), offerFromBits(cfg>>10))
		copts := &handshake.ClientOptions{Origin: origin, Subprotocols: offered, Extensions: []handshake.ClientExtension{cli}}
		req, err := handshake.AppendRequest(nil, u, rfcKeyB64, copts)
		if err != nil {
			return
		}
		server := []string{"superchat", "chat", "v2"}
		sopts := &handshake.ServerOptions{
			Subprotocols: server,
			CheckOrigin:  func(string, string) bool { return true },
			Extensions:   []handshake.ServerExtension{serverFromBits(cfg >> 20)},
		}
		var resp bytes.Buffer
		sres, err := handshake.Upgrade(bufio.NewReader(bytes.NewReader(req)), &resp, sopts)
		if len(req) > handshake.DefaultMaxHeadBytes {
			// A head over the server's limit (a huge URL, say) gets the
			// RFC answer, 431, and nothing else.
			if !errors.Is(err, handshake.ErrHeadTooLarge) {
				t.Fatalf("a %d-byte request head: %v, want ErrHeadTooLarge", len(req), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("our server refuses our client's request %q: %v", req, err)
		}
		cres, err := handshake.ReadResponse(bufio.NewReader(&resp), rfcKeyB64, copts)
		if err != nil {
			t.Fatalf("our client refuses our server's response %q to %q: %v", resp.String(), req, err)
		}
		// Both ends agree on what was negotiated; only the client's Result
		// carries the 101 it read.
		if cres.StatusCode != 101 {
			t.Fatalf("client Result status %d, want 101", cres.StatusCode)
		}
		cres.StatusCode, cres.Status, cres.Header = 0, "", nil
		if diff := cmp.Diff(sres, cres); diff != "" {
			t.Fatalf("the ends disagree (-server +client):\n%s", diff)
		}
		want := ""
	pick:
		for _, s := range server {
			for _, o := range offered {
				if s == o {
					want = s
					break pick
				}
			}
		}
		if cres.Subprotocol != want {
			t.Fatalf("subprotocol %q, want %q (offered %q)", cres.Subprotocol, want, offered)
		}
		for _, e := range cres.Extensions {
			cp, err := cli.Params(e)
			if err != nil {
				t.Fatalf("client Params(%v): %v", e, err)
			}
			sp, err := deflate.ParseResponse(e)
			if err != nil {
				t.Fatalf("ParseResponse(%v): %v", e, err)
			}
			if cp.ServerNoContextTakeover != sp.ServerNoContextTakeover || cp.ServerMaxWindowBits != sp.ServerMaxWindowBits || cp.ClientMaxWindowBits > sp.ClientMaxWindowBits {
				t.Fatalf("deflate parameters: client %+v, server %+v", cp, sp)
			}
		}
	})
}
