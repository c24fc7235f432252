package interop

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/interop/peers"
)

// serverObs is what hybi, serving, saw of one peer connection.
type serverObs struct {
	AcceptErr   error  // Accept refused the request (the reject scenario)
	Subprotocol string // agreed in the handshake
	CloseRet    error  // what Close returned (close-hybi)
	End         error  // the error the connection ended with
	Pong        string // the payload of the Pong to our Ping (hybi-ping)
	Ping        string // the payload of the first Ping the peer sent (ping)
	Pongs       int    // Pongs received (heartbeat)
	Timeouts    int    // reads that hit their deadline; Loop: deadlines that passed (read-timeout)
	// Compressed frames (RSV1) received and sent (/echo-deflate).
	CompressedIn, CompressedOut int64
	Err                         error // anything else that went wrong on our side
	// Loop: the connection was served by a websocket.Loop (loopServer).
	Loop bool
}

// deadlineStep is the read deadline of /deadline: short beside the peer's
// LateDelay, so that several pass before its message comes.
const deadlineStep = 100 * time.Millisecond

// hybiServer is hybi's side of the peer-client scenarios, a goroutine
// blocked in ReadMessage per connection. Peers connect to
// /<peer>/<path>?s=<scenario>; paths:
//
//	/echo          echo (Subprotocol supported)
//	/echo-deflate  echo with permessage-deflate accepted (once wired)
//	/close         Close(HybiCloseCode, HybiCloseReason) at once
//	/ping          Ping(HybiPing); once the Pong echoes it, send PongOK
//	/heartbeat     PingInterval 50 ms; after HeartbeatPongs Pongs, send
//	               HeartbeatOK
//	/fragments     Payload(text, FragmentedSize) in FragmentSize frames
//	               written with WriteFrame, a Ping after the first
//	/deadline      read with 100 ms deadlines until the peer's late message
//	               arrives, then echo
//	/reject        refused by hybi's origin policy: 403
//
// loopServer (loopserver_test.go) serves the same paths with a
// websocket.Loop reading the connections.
type hybiServer struct {
	observations
	// prepared: echo with WritePreparedMessage (TestHybiServerPrepared).
	prepared bool
}

func newHybiServer() *hybiServer { return &hybiServer{} }

// observations collects what a hybi server saw, by peer and scenario.
type observations struct {
	mu  sync.Mutex
	obs map[string]chan serverObs
}

func (h *observations) ch(key string) chan serverObs {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.obs == nil {
		h.obs = map[string]chan serverObs{}
	}
	c, ok := h.obs[key]
	if !ok {
		c = make(chan serverObs, 1)
		h.obs[key] = c
	}
	return c
}

// put reports the connection of key ("<peer>/<scenario>").
func (h *observations) put(key string, o serverObs) {
	select {
	case h.ch(key) <- o:
	default: // a second connection for the same scenario: keep the first
	}
}

// wait returns what hybi saw on the connection of peer's scenario.
func (h *observations) wait(peer, scenario string, d time.Duration) (serverObs, bool) {
	select {
	case o := <-h.ch(peer + "/" + scenario):
		return o, true
	case <-time.After(d):
		return serverObs{}, false
	}
}

// route splits a request for /<peer>/<path>?s=<scenario> into its path
// and its observation key "<peer>/<scenario>".
func route(r *http.Request) (what, key string, ok bool) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 2 {
		return "", "", false
	}
	return parts[1], parts[0] + "/" + r.URL.Query().Get("s"), true
}

func (h *hybiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	what, key, ok := route(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.put(key, h.serve(w, r, what))
}

// probe is the instrumentation of one served connection, the same for the
// blocking and the Loop-served server: the hooks of the accept options
// record the peer's first Ping, the Pongs to hybi's Pings and the
// compressed frames.
type probe struct {
	pongs chan string
	rsv1  rsv1Count
	mu    sync.Mutex
	ping  *string // the payload of the first Ping received
}

// newProbe returns the accept options of path what, hooked to a new probe.
func newProbe(r *http.Request, what string) (*probe, *websocket.AcceptOptions) {
	p := &probe{pongs: make(chan string, 4)}
	opts := &websocket.AcceptOptions{Subprotocols: []string{peers.Subprotocol}}
	opts.MaxMessageSize = 64 << 20
	opts.CloseTimeout = 5 * time.Second
	opts.OnPing = func(b []byte) {
		p.mu.Lock()
		if p.ping == nil {
			s := string(b)
			p.ping = &s
		}
		p.mu.Unlock()
	}
	opts.OnPong = func(b []byte) {
		select {
		case p.pongs <- string(b):
		default:
		}
	}
	switch what {
	case "echo-deflate":
		enableServerDeflate(opts, &p.rsv1)
	case "heartbeat":
		opts.PingInterval = 50 * time.Millisecond
		opts.PongTimeout = 5 * time.Second
	case "reject":
		// hybi's own refusal path: its origin policy refuses a foreign
		// Origin with 403. Not every client sends Origin, so set one.
		r.Header.Set("Origin", "http://foreign.invalid")
	}
	return p, opts
}

// record copies what the hooks saw into o.
func (p *probe) record(o *serverObs) {
	o.CompressedIn, o.CompressedOut = p.rsv1.in.Load(), p.rsv1.out.Load()
	p.mu.Lock()
	if p.ping != nil {
		o.Ping = *p.ping
	}
	p.mu.Unlock()
}

func (h *hybiServer) serve(w http.ResponseWriter, r *http.Request, what string) (o serverObs) {
	pr, opts := newProbe(r, what)
	defer pr.record(&o)
	pongs := pr.pongs
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		o.AcceptErr = err
		return o
	}
	defer c.CloseNow()
	o.Subprotocol = c.Subprotocol()

	switch what {
	case "close":
		o.CloseRet = c.Close(peers.HybiCloseCode, peers.HybiCloseReason)
		_, _, o.End = c.ReadMessage(nil)
		return o

	case "ping":
		end := make(chan error, 1)
		go func() {
			var err error
			for err == nil {
				_, _, err = c.ReadMessage(nil)
			}
			end <- err
		}()
		if err := c.Ping([]byte(peers.HybiPing)); err != nil {
			o.Err = err
		}
		select {
		case p := <-pongs:
			o.Pong = p
			msg := peers.PongOK
			if p != peers.HybiPing {
				msg = "pong-mismatch: " + p
			}
			if err := c.WriteMessage(websocket.Text, []byte(msg)); err != nil {
				o.Err = errors.Join(o.Err, err)
			}
		case err := <-end:
			o.End = err
			return o
		case <-time.After(peers.ScenarioTimeout):
			o.Err = errors.Join(o.Err, errors.New("no pong"))
		}
		o.End = <-end
		return o

	case "heartbeat":
		// The heartbeat pings; the peer answers; after HeartbeatPongs
		// Pongs, tell the peer. A heartbeat timeout would end the
		// connection with ErrHeartbeatTimeout instead.
		end := make(chan error, 1)
		go func() {
			var err error
			for err == nil {
				_, _, err = c.ReadMessage(nil)
			}
			end <- err
		}()
		timeout := time.After(peers.ScenarioTimeout)
		for o.Pongs < peers.HeartbeatPongs {
			select {
			case <-pongs:
				o.Pongs++
				continue
			case err := <-end:
				o.End = err
				return o
			case <-timeout:
				o.Err = fmt.Errorf("%d pongs to the heartbeat, want %d", o.Pongs, peers.HeartbeatPongs)
			}
			break
		}
		if err := c.WriteMessage(websocket.Text, []byte(peers.HeartbeatOK)); err != nil {
			o.Err = errors.Join(o.Err, err)
		}
		o.End = <-end
		return o

	case "deadline":
		// The seed problem: a read timeout must not kill the connection.
		// Read with short deadlines until the peer's late message comes.
		stop := time.Now().Add(peers.ScenarioTimeout)
		for {
			c.SetReadDeadline(time.Now().Add(deadlineStep))
			typ, msg, err := c.ReadMessage(nil)
			if errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(stop) {
				o.Timeouts++
				continue
			}
			c.SetReadDeadline(time.Time{})
			if err != nil {
				o.End = err
				return o
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				o.Err = err
			}
			break
		}

	case "fragments":
		if err := writeFragments(c, peers.Payload(false, peers.FragmentedSize)); err != nil {
			o.Err = err
			return o
		}
	}

	// Echo until the peer closes.
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(buf)
		if err != nil {
			o.End = err
			return o
		}
		buf = msg
		write := c.WriteMessage
		if h.prepared {
			write = func(typ websocket.MessageType, msg []byte) error { return writePrepared(c, typ, msg) }
		}
		if err := write(typ, msg); err != nil {
			o.Err = err
			_, _, o.End = c.ReadMessage(nil)
			return o
		}
	}
}

// writeFragments sends p as one text message of FragmentSize frames with
// WriteFrame, and a Ping after the first frame (RFC 6455 §5.4: "Control
// frames MAY be injected in the middle of a fragmented message").
func writeFragments(c *websocket.Conn, p []byte) error {
	op := frame.OpText
	for first := true; len(p) > 0; first = false {
		n := min(len(p), peers.FragmentSize)
		var flags frame.Flags
		if n < len(p) {
			flags = frame.More
		}
		if err := c.WriteFrame(op, flags, p[:n]); err != nil {
			return err
		}
		if first {
			if err := c.Ping([]byte("mid-message")); err != nil {
				return err
			}
		}
		op, p = frame.OpContinuation, p[n:]
	}
	return nil
}

// closeErr returns the *CloseError in err's chain, or nil.
func closeErr(err error) *websocket.CloseError {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}
