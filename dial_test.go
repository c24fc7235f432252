package websocket

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
)

// Dial gives back the server's 101 response: its status and every header
// field the server added (AcceptOptions.Header), Set-Cookie included, on
// both server paths (Accept over net/http, raw Upgrade).
func TestDialResultResponse(t *testing.T) {
	opts := &AcceptOptions{
		Subprotocols: []string{"chat"},
		Header: http.Header{
			"X-Server":   {"hybi-test"},
			"Set-Cookie": {"session=abc; Path=/", "theme=dark"},
		},
	}
	httpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		if err != nil {
			return
		}
		echo(c)
		c.CloseNow()
	}))
	defer httpSrv.Close()
	for _, tc := range []struct{ name, url string }{
		{"Accept", "ws" + strings.TrimPrefix(httpSrv.URL, "http") + "/"},
		{"Upgrade", serve(t, opts, echo)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, res, err := Dial(ctx, tc.url, &DialOptions{Subprotocols: []string{"chat"}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if res.StatusCode != http.StatusSwitchingProtocols || res.Status != "101 Switching Protocols" {
				t.Errorf("status %d %q, want 101 Switching Protocols", res.StatusCode, res.Status)
			}
			if got := res.Header.Get("X-Server"); got != "hybi-test" {
				t.Errorf("X-Server = %q, want %q", got, "hybi-test")
			}
			if got := res.Header.Values("Set-Cookie"); len(got) != 2 || got[0] != "session=abc; Path=/" || got[1] != "theme=dark" {
				t.Errorf("Set-Cookie = %q", got)
			}
			if got := res.Header.Get("Upgrade"); !strings.EqualFold(got, "websocket") {
				t.Errorf("Upgrade = %q", got)
			}
			if res.Subprotocol != "chat" {
				t.Errorf("Subprotocol = %q, want chat", res.Subprotocol)
			}
			// The cookies parse as net/http's client would see them.
			resp := http.Response{Header: res.Header}
			if ck := resp.Cookies(); len(ck) != 2 || ck[0].Name != "session" || ck[0].Value != "abc" {
				t.Errorf("Cookies() = %v", ck)
			}
			if err := c.Close(frame.CloseNormal, ""); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}
