package websocket

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// plainWriter hides the server's ResponseWriter behind a type with
// neither Hijack nor Unwrap, as a careless logging middleware does.
type plainWriter struct{ w http.ResponseWriter }

func (p plainWriter) Header() http.Header         { return p.w.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.w.WriteHeader(code) }

// TestAcceptUnhijackable: an HTTP/1.1 request whose ResponseWriter a
// middleware hid is the server's fault: the client gets 500, not 505
// ("HTTP/1.1 required", which it used), and the error names the wrapper's
// type and the cure, with one "websocket: accept:" prefix. An HTTP/2
// request still gets 505.
func TestAcceptUnhijackable(t *testing.T) {
	errs := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := Accept(plainWriter{w}, r, nil)
		errs <- err
	}))
	defer srv.Close()
	_, _, err := Dial(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError {
		t.Errorf("Dial: %v, want a *ResponseError with status 500", err)
	}
	aerr := <-errs
	if aerr == nil || !errors.Is(aerr, http.ErrNotSupported) {
		t.Fatalf("Accept: %v, want an error matching http.ErrNotSupported", aerr)
	}
	for _, want := range []string{"websocket.plainWriter", "Unwrap"} {
		if !strings.Contains(aerr.Error(), want) {
			t.Errorf("Accept's error %q does not name %q", aerr, want)
		}
	}
	if n := strings.Count(aerr.Error(), "websocket: accept:"); n != 1 {
		t.Errorf("Accept's error %q has %d prefixes, want 1", aerr, n)
	}

	// HTTP/2: the same ResponseWriter shape, a request of major version 2.
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	req.ProtoMajor, req.ProtoMinor, req.Proto = 2, 0, "HTTP/2.0"
	rec := httptest.NewRecorder()
	_, err = Accept(plainWriter{rec}, req, nil)
	if err == nil || rec.Code != http.StatusHTTPVersionNotSupported || !strings.Contains(err.Error(), "HTTP/2") {
		t.Errorf("HTTP/2 request: status %d, error %v; want 505 and an error naming HTTP/2", rec.Code, err)
	}
}
