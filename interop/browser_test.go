package interop

import (
	"net/http"
	"testing"

	"github.com/hybi/websocket/interop/peers"
)

func browserClients(t *testing.T, base string, scenarios []string) map[string]peers.Result {
	t.Fatalf("chromium: not written yet")
	return nil
}

func registerBrowser(mux *http.ServeMux) {}
