package websocket_test

// The runnable answers to the ordinary questions of docs/cookbook.md.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	websocket "github.com/hybi/websocket"
)

// CloseStatus is the one-line test of how a connection ended: the close
// code, or 0 when err is not the end of the connection (a timeout, a
// cancelled context). It replaces gorilla's IsCloseError(err, codes...)
// and IsUnexpectedCloseError(err, codes...): compare the code. errors.Is
// with a *CloseError of the same Code matches too.
func ExampleCloseStatus() {
	url, stop := startServer(func(c *websocket.Conn) {
		c.ReadMessage(nil) // the client's "bye"
		c.Close(websocket.CloseGoingAway, "restarting")
	})
	defer stop()
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.CloseNow()

	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)) // the server sends nothing yet
	_, _, err = c.ReadMessage(nil)
	fmt.Println("timeout:", websocket.CloseStatus(err), errors.Is(err, os.ErrDeadlineExceeded))

	c.SetReadDeadline(time.Time{})
	c.WriteMessage(websocket.Text, []byte("bye"))
	_, _, err = c.ReadMessage(nil)
	switch code := websocket.CloseStatus(err); code {
	case websocket.CloseNormal, websocket.CloseGoingAway: // gorilla: IsCloseError(err, 1000, 1001)
		fmt.Println("expected end:", code)
	case 0:
		fmt.Println("not the end of the connection:", err)
	default: // gorilla: IsUnexpectedCloseError(err, 1000, 1001)
		fmt.Println("unexpected end:", err)
	}
	fmt.Println("errors.Is:", errors.Is(err, &websocket.CloseError{Code: websocket.CloseGoingAway}))
	// Output:
	// timeout: 0 true
	// expected end: 1001 (going away)
	// errors.Is: true
}

// statusRecorder is the ResponseWriter wrapper of a typical logging
// middleware. Its Unwrap method lets Accept reach the connection's own
// ResponseWriter to hijack it (http.ResponseController follows Unwrap).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap returns the wrapped ResponseWriter. Without it (or a Hijack
// method) Accept cannot take over the connection and fails.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Accept works behind routers and middleware as long as the
// ResponseWriter they pass down can be hijacked: a wrapper must have an
// Unwrap method (or implement http.Hijacker). http.TimeoutHandler's writer
// cannot be hijacked: keep WebSocket routes outside it.
func Example_middleware() {
	logged := make(chan string, 1)
	logging := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			logged <- fmt.Sprintf("%s %s (status written through the wrapper: %d)", r.Method, r.URL.Path, rec.status)
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			fmt.Println("accept:", err)
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.ReadMessage(nil)
		if err == nil {
			c.WriteMessage(typ, msg)
		}
		c.ReadMessage(nil) // wait for the client's Close
	})
	srv := newServer(logging(mux))
	defer srv.Close()

	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	c.WriteMessage(websocket.Text, []byte("through the middleware"))
	_, msg, _ := c.ReadMessage(nil)
	fmt.Printf("echo: %s\n", msg)
	c.Close(websocket.CloseNormal, "")
	fmt.Println(<-logged)
	// Output:
	// echo: through the middleware
	// GET /ws (status written through the wrapper: 0)
}

// A net/http server with a goroutine per connection that stops
// gracefully. http.Server.Shutdown does not track hijacked connections, so
// the server keeps its own set: RegisterOnShutdown sends each one a Close
// with 1001 (going away), and a WaitGroup waits for the handlers. (A Loop
// does all of this in Loop.Shutdown.)
func Example_gracefulShutdown() {
	var (
		mu       sync.Mutex
		conns    = map[*websocket.Conn]struct{}{}
		stopping bool
		handlers sync.WaitGroup
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		mu.Lock()
		if stopping { // accepted while the server was stopping
			mu.Unlock()
			c.Close(websocket.CloseGoingAway, "server shutting down")
			return
		}
		conns[c] = struct{}{}
		handlers.Add(1)
		mu.Unlock()
		defer handlers.Done()
		defer func() { mu.Lock(); delete(conns, c); mu.Unlock() }()
		for {
			typ, msg, err := c.ReadMessage(nil)
			if err != nil {
				return // after Close below: closed by local, 1001
			}
			c.WriteMessage(typ, msg)
		}
	}))
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Config.RegisterOnShutdown(func() {
		mu.Lock()
		defer mu.Unlock()
		stopping = true
		for c := range conns {
			// Close waits for the client's answer: one goroutine each,
			// so a slow client does not hold up the others.
			go c.Close(websocket.CloseGoingAway, "server shutting down")
		}
	})
	srv.Start()
	defer srv.Close()

	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.CloseNow()
	c.WriteMessage(websocket.Text, []byte("hi"))
	c.ReadMessage(nil) // the echo: the handler is running
	ended := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(nil) // the client reads, so it answers the Close
		ended <- err
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Config.Shutdown(ctx) // stops accepting, runs the RegisterOnShutdown hook
	handlers.Wait()          // every handler returned: every closing handshake ended
	fmt.Println("client:", <-ended)
	// Output:
	// client: websocket: closed by peer: 1001 (going away) "server shutting down" (close received, then sent)
}

// A message of any size, streamed both ways: NextWriter sends what is
// written as fragments (Options.FragmentSize), NextReader hands the payload
// over as it arrives. Neither side holds the message whole.
func Example_streaming() {
	url, stop := startServer(func(c *websocket.Conn) {
		for {
			_, r, err := c.NextReader()
			if err != nil {
				return
			}
			h := sha256.New()
			n, err := io.Copy(h, r)
			if err != nil {
				return
			}
			w, err := c.NextWriter(websocket.Text)
			if err != nil {
				return
			}
			fmt.Fprintf(w, "%d bytes, sha256 %x", n, h.Sum(nil)[:4])
			if w.Close() != nil {
				return
			}
		}
	})
	defer stop()
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.CloseNow()

	w, err := c.NextWriter(websocket.Binary)
	if err != nil {
		fmt.Println(err)
		return
	}
	h := sha256.New()
	piece := make([]byte, 1000)
	for i := range 3000 { // 3 MB in 1,000-byte pieces
		for j := range piece {
			piece[j] = byte(i + j)
		}
		h.Write(piece)
		if _, err := w.Write(piece); err != nil {
			fmt.Println("write:", err)
			return
		}
	}
	if err := w.Close(); err != nil { // sends the last fragment (FIN)
		fmt.Println("close writer:", err)
		return
	}
	_, r, err := c.NextReader()
	if err != nil {
		fmt.Println(err)
		return
	}
	answer, _ := io.ReadAll(r)
	fmt.Println(string(answer))
	fmt.Println("same digest:", strings.HasSuffix(string(answer), fmt.Sprintf("%x", h.Sum(nil)[:4])))
	c.Close(websocket.CloseNormal, "")
	// Output:
	// 3000000 bytes, sha256 2a51390e
	// same digest: true
}

// A message over the read limit fails the connection with 1009 (message
// too big): the reader gets a *CloseError it started, the sender one the
// peer started, both with the code.
func ExampleConn_SetReadLimit() {
	serverErr := make(chan error, 1)
	url, stop := startServer(func(c *websocket.Conn) {
		c.SetReadLimit(1000) // or AcceptOptions.Options.MaxMessageSize
		_, _, err := c.ReadMessage(nil)
		serverErr <- err
	})
	defer stop()
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.CloseNow()
	c.WriteMessage(websocket.Binary, make([]byte, 1500))
	_, _, err = c.ReadMessage(nil)

	var ce *websocket.CloseError
	if errors.As(<-serverErr, &ce) {
		fmt.Println("server:", ce.Code, "closed by", ce.Initiator)
	}
	if errors.As(err, &ce) {
		fmt.Println("client:", ce.Code, "closed by", ce.Initiator)
	}
	// Output:
	// server: 1009 (message too big) closed by local
	// client: 1009 (message too big) closed by peer
}

// wss: Dial takes the TLS configuration in DialOptions.TLSConfig. Here the
// server is httptest's TLS server, whose client configuration trusts its
// certificate; in production nil (the system roots) is usual.
func Example_wss() {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.ReadMessage(nil)
		if err == nil {
			c.WriteMessage(typ, msg)
		}
		c.ReadMessage(nil) // wait for the client's Close
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // quiet about the refused certificate below
	srv.StartTLS()
	defer srv.Close()
	url := "wss" + strings.TrimPrefix(srv.URL, "https")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := websocket.Dial(ctx, url, nil) // the system roots do not know httptest's certificate
	fmt.Println("without the CA:", strings.Contains(fmt.Sprint(err), "certificate"))

	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		TLSConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig,
	})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	c.WriteMessage(websocket.Text, []byte("over TLS"))
	_, msg, _ := c.ReadMessage(nil)
	fmt.Printf("echo: %s\n", msg)
	fmt.Println("close:", c.Close(websocket.CloseNormal, ""))
	// Output:
	// without the CA: true
	// echo: over TLS
	// close: <nil>
}

// Every Example docs/cookbook.md points to exists, so that the cookbook
// cannot send a reader to a name that was renamed or removed.
func TestCookbookExamplesExist(t *testing.T) {
	doc, err := os.ReadFile("docs/cookbook.md")
	if err != nil {
		t.Fatal(err)
	}
	var src []byte
	for _, pattern := range []string{"*_test.go", "wsjson/*_test.go"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src = append(src, b...)
		}
	}
	names := regexp.MustCompile("`(Example[A-Za-z0-9_]*)`").FindAllSubmatch(doc, -1)
	if len(names) < 10 {
		t.Fatalf("found only %d Example names in docs/cookbook.md", len(names))
	}
	for _, m := range names {
		if !bytes.Contains(src, []byte("\nfunc "+string(m[1])+"() {")) {
			t.Errorf("docs/cookbook.md names %s, which no test file defines", m[1])
		}
	}
}
