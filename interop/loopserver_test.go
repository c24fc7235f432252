package interop

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/interop/peers"
)

// loopServer is hybi's side of the peer-client scenarios with a
// websocket.Loop reading every connection: the handler accepts, hands the
// Conn to the Loop with Add and returns; messages arrive in OnMessage on a
// poller goroutine, the end in OnClose. The paths and what the server does
// on them are hybiServer's; where hybiServer's handler blocks (a Close
// waiting for the reply, a Ping waiting for its Pong, the heartbeat, the
// fragments it writes), a goroutine of the connection does the same while
// the Loop reads. The echo is written back from OnMessage. Two paths
// differ in form, not in what is checked:
//
//   - /deadline: a Loop never blocks on a read, so a read deadline has
//     nothing to time out. The connection's goroutine sets 100 ms read
//     deadlines (SetReadDeadline) one after the other until the peer's
//     late message arrives through OnMessage, and counts those that
//     passed: they must not end the connection, and the message must come
//     whole and be echoed.
//   - /ping, /heartbeat, /close: messages are read and dropped, as
//     hybiServer's reading goroutine does.
type loopServer struct {
	observations
	loop     *websocket.Loop
	sessions sync.Map // *websocket.Conn → *loopSession
}

// newLoopServer starts the Loop; it is closed when the test ends.
func newLoopServer(t *testing.T) *loopServer {
	t.Helper()
	h := &loopServer{}
	l, err := websocket.NewLoop(&websocket.LoopOptions{OnMessage: h.onMessage, OnClose: h.onClose})
	if err != nil {
		t.Fatalf("NewLoop: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	h.loop = l
	return h
}

// loopSession is one connection served by the Loop.
type loopSession struct {
	what  string
	probe *probe
	// first is closed by the first data message (read-timeout), ended by
	// OnClose.
	first     chan struct{}
	firstOnce sync.Once
	ended     chan struct{}
	// work counts the connection's goroutine: the observation is reported
	// once it and OnClose are done.
	work   sync.WaitGroup
	report func(serverObs)

	mu  sync.Mutex
	obs serverObs
}

func (s *loopSession) fail(err error) {
	s.mu.Lock()
	s.obs.Err = errors.Join(s.obs.Err, err)
	s.mu.Unlock()
}

func (h *loopServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	what, key, ok := route(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	pr, opts := newProbe(r, what)
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		h.put(key, serverObs{AcceptErr: err, Loop: true})
		return
	}
	s := &loopSession{
		what:   what,
		probe:  pr,
		first:  make(chan struct{}),
		ended:  make(chan struct{}),
		report: func(o serverObs) { h.put(key, o) },
		obs:    serverObs{Subprotocol: c.Subprotocol(), Loop: true},
	}
	h.sessions.Store(c, s)
	s.work.Add(1) // the report waits for the script, started once c is added
	if err := h.loop.Add(c); err != nil {
		s.fail(fmt.Errorf("Loop.Add: %w", err))
		s.work.Done()
		c.CloseNow()
		h.end(c, errors.New("not served: Loop.Add failed")) // if OnClose did not run
		return
	}
	go func() {
		defer s.work.Done()
		s.script(c)
	}()
	// The handler returns; the Loop reads c from now on.
}

// onMessage echoes, on the paths where hybiServer echoes.
func (h *loopServer) onMessage(c *websocket.Conn, typ websocket.MessageType, p []byte) {
	v, ok := h.sessions.Load(c)
	if !ok {
		c.CloseNow()
		return
	}
	s := v.(*loopSession)
	s.firstOnce.Do(func() { close(s.first) })
	switch s.what {
	case "ping", "heartbeat", "close":
		return // read and dropped
	}
	// p is valid until we return: WriteMessage sends it before.
	if err := c.WriteMessage(typ, p); err != nil {
		s.fail(fmt.Errorf("echo from OnMessage: %w", err))
		c.CloseNow()
	}
}

// onClose records the end of c.
func (h *loopServer) onClose(c *websocket.Conn, err error) { h.end(c, err) }

// end records the end of c, once, and reports the observation when the
// connection's goroutine is done (on a goroutine of its own: OnClose may
// run on that very goroutine, inside its Close).
func (h *loopServer) end(c *websocket.Conn, err error) {
	v, ok := h.sessions.LoadAndDelete(c)
	if !ok {
		return
	}
	s := v.(*loopSession)
	s.mu.Lock()
	s.obs.End = err
	s.mu.Unlock()
	close(s.ended)
	go func() {
		s.work.Wait()
		s.mu.Lock()
		o := s.obs
		s.mu.Unlock()
		s.probe.record(&o)
		s.report(o)
	}()
}

// script is what hybiServer's handler does besides reading, done while
// the Loop reads: it runs from Add until the end of the connection or
// until it has nothing left to do.
func (s *loopSession) script(c *websocket.Conn) {
	timeout := time.After(peers.ScenarioTimeout)
	switch s.what {
	case "close":
		// Not called from OnMessage: Close waits for the peer's Close,
		// which the Loop reads.
		err := c.Close(peers.HybiCloseCode, peers.HybiCloseReason)
		s.mu.Lock()
		s.obs.CloseRet = err
		s.mu.Unlock()

	case "ping":
		if err := c.Ping([]byte(peers.HybiPing)); err != nil {
			s.fail(err)
		}
		select {
		case p := <-s.probe.pongs:
			s.mu.Lock()
			s.obs.Pong = p
			s.mu.Unlock()
			msg := peers.PongOK
			if p != peers.HybiPing {
				msg = "pong-mismatch: " + p
			}
			if err := c.WriteMessage(websocket.Text, []byte(msg)); err != nil {
				s.fail(err)
			}
		case <-s.ended:
		case <-timeout:
			s.fail(errors.New("no pong"))
		}

	case "heartbeat":
		pongs := 0
		defer func() {
			s.mu.Lock()
			s.obs.Pongs = pongs
			s.mu.Unlock()
		}()
		for pongs < peers.HeartbeatPongs {
			select {
			case <-s.probe.pongs:
				pongs++
				continue
			case <-s.ended:
				return
			case <-timeout:
				s.fail(fmt.Errorf("%d pongs to the heartbeat, want %d", pongs, peers.HeartbeatPongs))
			}
			break
		}
		if err := c.WriteMessage(websocket.Text, []byte(peers.HeartbeatOK)); err != nil {
			s.fail(err)
		}

	case "deadline":
		// Read deadlines pass one after the other while the peer's
		// message is late; OnMessage then gets it and echoes it.
		timeouts := 0
		defer func() {
			c.SetReadDeadline(time.Time{})
			s.mu.Lock()
			s.obs.Timeouts = timeouts
			s.mu.Unlock()
		}()
		for {
			c.SetReadDeadline(time.Now().Add(deadlineStep))
			select {
			case <-s.first:
				return
			case <-s.ended:
				return
			case <-timeout:
				s.fail(errors.New("no message"))
				return
			case <-time.After(deadlineStep):
				timeouts++
			}
		}

	case "fragments":
		if err := writeFragments(c, peers.Payload(false, peers.FragmentedSize)); err != nil {
			s.fail(err)
		}
	}
}
