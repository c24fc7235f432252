package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/handshake"
	"github.com/hybi/websocket/interop/peers"
)

// clientScenarios are hybi's scenarios as the client; the names mirror
// peers.Scenarios (ping: the peer pings hybi; hybi-ping: hybi pings the
// peer).
var clientScenarios = peers.Scenarios()

// runHybiClient runs one scenario with hybi dialing a peer server at base
// (ws://host:port) and reports, through t, whether hybi and the peer saw
// what they should. events returns the peer server's report for the
// scenario. It returns a note for the matrix ("" or "n/a: …").
func runHybiClient(t *testing.T, peerName, base, scenario string, events func(string) (peers.Event, bool)) string {
	ctx, cancel := context.WithTimeout(context.Background(), peers.ScenarioTimeout)
	defer cancel()
	url := func(p string) string { return base + "/" + p + "?s=" + scenario }
	newOpts := func() *websocket.DialOptions {
		o := &websocket.DialOptions{Proxy: websocket.NoProxy}
		o.MaxMessageSize = 64 << 20
		o.CloseTimeout = 5 * time.Second
		return o
	}
	dial := func(p string, o *websocket.DialOptions) (*websocket.Conn, handshake.Result) {
		t.Helper()
		c, res, err := websocket.Dial(ctx, url(p), o)
		if err != nil {
			t.Fatalf("Dial %s: %v", url(p), err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c, res
	}
	closeNormally := func(c *websocket.Conn) {
		t.Helper()
		if err := c.Close(frame.CloseNormal, ""); err != nil {
			t.Errorf("Close(1000): %v", err)
		}
	}

	if binary, n, ok := peers.ParseEcho(scenario); ok {
		c, _ := dial("echo", newOpts())
		typ := websocket.Text
		if binary {
			typ = websocket.Binary
		}
		echo(t, c, typ, peers.Payload(binary, n))
		closeNormally(c)
		return ""
	}

	switch scenario {
	case "send-fragmented":
		o := newOpts()
		o.FragmentSize = peers.FragmentSize
		c, _ := dial("echo", o)
		p := peers.Payload(false, peers.FragmentedSize)
		w, err := c.NextWriter(websocket.Text)
		if err != nil {
			t.Fatalf("NextWriter: %v", err)
		}
		// Written in odd pieces: the writer cuts FragmentSize frames.
		for q := p; len(q) > 0; {
			n := min(len(q), 777)
			if _, err := w.Write(q[:n]); err != nil {
				t.Fatalf("Write: %v", err)
			}
			q = q[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatalf("writer Close: %v", err)
		}
		expectMessage(t, c, websocket.Text, p)
		closeNormally(c)

	case "utf8-fragmented":
		// NextWriter cuts FragmentSize frames through the middle of code
		// points; the peer must validate the message, not each frame.
		o := newOpts()
		o.FragmentSize = peers.FragmentSize
		c, _ := dial("echo", o)
		p := peers.UTF8Payload()
		w, err := c.NextWriter(websocket.Text)
		if err != nil {
			t.Fatalf("NextWriter: %v", err)
		}
		if _, err := w.Write(p); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("writer Close: %v", err)
		}
		expectMessage(t, c, websocket.Text, p)
		closeNormally(c)

	case "recv-fragmented":
		c, _ := dial("fragments", newOpts())
		typ, r, err := c.NextReader()
		if err != nil {
			t.Fatalf("NextReader: %v", err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("reading the fragmented message: %v", err)
		}
		checkMessage(t, websocket.Text, peers.Payload(false, peers.FragmentedSize), typ, got)
		closeNormally(c)

	case "ping":
		// The peer pings with PeerPing; hybi's automatic Pong must echo it,
		// and the peer answers PongOK once it saw so.
		pings := make(chan string, 4)
		o := newOpts()
		o.OnPing = func(p []byte) {
			select {
			case pings <- string(p):
			default:
			}
		}
		c, _ := dial("ping", o)
		expectMessage(t, c, websocket.Text, []byte(peers.PongOK))
		select {
		case p := <-pings:
			// coder pings with a payload of its own choosing.
			if p != peers.PeerPing && !(peerName == "coder" && p != "") {
				t.Errorf("OnPing saw %q, want %q", p, peers.PeerPing)
			}
		default:
			t.Errorf("OnPing was not called before the peer's %q arrived", peers.PongOK)
		}
		closeNormally(c)

	case "hybi-ping":
		pongs := make(chan string, 4)
		o := newOpts()
		o.OnPong = func(p []byte) {
			select {
			case pongs <- string(p):
			default:
			}
		}
		c, _ := dial("echo", o)
		if err := c.Ping([]byte(peers.HybiPing)); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		// Pongs arrive while we read: round trips until one did.
		var pong string
		for i := 0; i < 5 && pong == ""; i++ {
			echo(t, c, websocket.Text, []byte(fmt.Sprintf("after ping %d", i)))
			select {
			case pong = <-pongs:
			default:
			}
		}
		if pong != peers.HybiPing {
			t.Errorf("pong payload %q, want %q", pong, peers.HybiPing)
		}
		closeNormally(c)

	case "heartbeat":
		// hybi's heartbeat pings every 50 ms while a goroutine reads; the
		// peer must answer so that no heartbeat timeout ends the
		// connection, and the echo afterwards still works.
		pongs := make(chan struct{}, 64)
		o := newOpts()
		o.PingInterval = 50 * time.Millisecond
		o.PongTimeout = 5 * time.Second
		o.OnPong = func([]byte) {
			select {
			case pongs <- struct{}{}:
			default:
			}
		}
		c, _ := dial("echo", o)
		type msg struct {
			typ websocket.MessageType
			p   []byte
			err error
		}
		msgs := make(chan msg, 1)
		go func() {
			for {
				typ, p, err := c.ReadMessage(nil)
				msgs <- msg{typ, p, err}
				if err != nil {
					return
				}
			}
		}()
		for n := 0; n < peers.HeartbeatPongs; n++ {
			select {
			case <-pongs:
			case m := <-msgs:
				t.Fatalf("during the heartbeat: message %v, err %v", m.typ, m.err)
			case <-ctx.Done():
				t.Fatalf("%d pongs to the heartbeat, want %d", n, peers.HeartbeatPongs)
			}
		}
		if err := c.WriteMessage(websocket.Text, []byte("after heartbeat")); err != nil {
			t.Fatalf("WriteMessage: %v", err)
		}
		m := <-msgs
		if m.err != nil || m.typ != websocket.Text || string(m.p) != "after heartbeat" {
			t.Fatalf("echo after the heartbeat: %v %q %v", m.typ, m.p, m.err)
		}
		closeNormally(c)
		if m := <-msgs; closeErr(m.err) == nil {
			t.Errorf("reader ended with %v, want the *CloseError of the normal close", m.err)
		}

	case "read-timeout":
		// The seed problem: read with 100 ms deadlines while the peer
		// sends its message only after LateDelay; each timeout leaves the
		// connection open and the next read resumes.
		c, _ := dial("deadline", newOpts())
		timeouts := 0
		for {
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			typ, p, err := c.ReadMessage(nil)
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				timeouts++
				continue
			}
			c.SetReadDeadline(time.Time{})
			if err != nil {
				t.Fatalf("ReadMessage after %d timeouts: %v", timeouts, err)
			}
			checkMessage(t, websocket.Text, []byte(peers.LateMessage), typ, p)
			break
		}
		if timeouts == 0 {
			t.Errorf("no read timed out: the peer's message was not late")
		}
		echo(t, c, websocket.Text, []byte("after the timeouts"))
		closeNormally(c)

	case "close-peer":
		c, _ := dial("close", newOpts())
		_, _, err := c.ReadMessage(nil)
		checkClose(t, err, peers.PeerCloseCode, peers.PeerCloseReason, websocket.Peer, websocket.ReceivedThenSent)

	case "close-hybi":
		c, _ := dial("echo", newOpts())
		echo(t, c, websocket.Text, []byte("before close"))
		if err := c.Close(peers.HybiCloseCode, peers.HybiCloseReason); err != nil {
			t.Errorf("Close: %v, want the completed handshake (nil)", err)
		}
		_, _, err := c.ReadMessage(nil)
		checkClose(t, err, peers.HybiCloseCode, peers.HybiCloseReason, websocket.Local, websocket.SentThenReceived)
		ev, ok := events(scenario)
		if !ok {
			t.Errorf("the peer reported nothing about the connection")
		} else if ev.Event != "close" || ev.Code != peers.HybiCloseCode || ev.Reason != peers.HybiCloseReason {
			t.Errorf("peer saw %+v, want close %d %q", ev, peers.HybiCloseCode, peers.HybiCloseReason)
		}

	case "subprotocol":
		o := newOpts()
		o.Subprotocols = []string{"nope", peers.Subprotocol}
		c, res := dial("echo", o)
		if res.Subprotocol != peers.Subprotocol || c.Subprotocol() != peers.Subprotocol {
			t.Errorf("subprotocol: result %q, conn %q, want %q", res.Subprotocol, c.Subprotocol(), peers.Subprotocol)
		}
		echo(t, c, websocket.Text, []byte("with subprotocol"))
		closeNormally(c)

	case "compression":
		if !deflateWired {
			return "n/a: " + deflateNotWired
		}
		o := newOpts()
		var rsv1 rsv1Count
		enableClientDeflate(o, &rsv1)
		c, res := dial("echo", o)
		if !hasDeflate(res.Extensions) {
			t.Errorf("extensions %v, want permessage-deflate", res.Extensions)
		}
		for range 3 { // context takeover across messages
			echo(t, c, websocket.Text, peers.Payload(false, peers.DeflateSize))
		}
		closeNormally(c)
		// Compressed both ways: the peer's echoes too.
		if rsv1.out.Load() == 0 || rsv1.in.Load() == 0 {
			t.Errorf("compressed frames: %d sent, %d received; want both > 0", rsv1.out.Load(), rsv1.in.Load())
		}
		return fmt.Sprintf("%s; %d compressed frames sent, %d received", extString(res.Extensions), rsv1.out.Load(), rsv1.in.Load())

	case "no-compression":
		// The peer server has permessage-deflate enabled; hybi does not
		// offer it, so none may be agreed.
		c, res := dial("echo", newOpts())
		if len(res.Extensions) != 0 {
			t.Errorf("extensions %v, want none", res.Extensions)
		}
		echo(t, c, websocket.Text, peers.Payload(false, peers.DeflateSize))
		closeNormally(c)

	case "reject":
		c, _, err := websocket.Dial(ctx, url("reject"), newOpts())
		if err == nil {
			c.CloseNow()
			t.Fatalf("Dial succeeded, want the peer's refusal")
		}
		var re *handshake.ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("Dial error %v (%T), want a *handshake.ResponseError", err, err)
		}
		if re.StatusCode != 403 {
			t.Errorf("status %d, want 403", re.StatusCode)
		}
		// The reason is the body (or, for autobahn, the reason phrase).
		if msg := err.Error(); !strings.Contains(msg, "403") || !strings.Contains(msg, peers.RejectBody) {
			t.Errorf("error %q: want the status (403) and the reason (%q)", msg, peers.RejectBody)
		}
		t.Logf("hybi's error: %v", err)

	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
	return ""
}

func extString(exts []handshake.Extension) string {
	var s []string
	for _, e := range exts {
		s = append(s, e.String())
	}
	return strings.Join(s, ", ")
}

func hasDeflate(exts []handshake.Extension) bool {
	for _, e := range exts {
		if e.Name == "permessage-deflate" {
			return true
		}
	}
	return false
}

// echo sends p as one message and checks that it comes back.
func echo(t *testing.T, c *websocket.Conn, typ websocket.MessageType, p []byte) {
	t.Helper()
	if err := c.WriteMessage(typ, p); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	expectMessage(t, c, typ, p)
}

func expectMessage(t *testing.T, c *websocket.Conn, typ websocket.MessageType, p []byte) {
	t.Helper()
	gotTyp, got, err := c.ReadMessage(nil)
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	checkMessage(t, typ, p, gotTyp, got)
}

func checkMessage(t *testing.T, typ websocket.MessageType, want []byte, gotTyp websocket.MessageType, got []byte) {
	t.Helper()
	if gotTyp != typ || !bytes.Equal(got, want) {
		t.Fatalf("got %v message of %d bytes %.40q, want %v of %d bytes %.40q", gotTyp, len(got), got, typ, len(want), want)
	}
}

// checkClose checks the *CloseError a connection ended with.
func checkClose(t *testing.T, err error, code int, reason string, who websocket.Initiator, frames websocket.CloseFrames) {
	t.Helper()
	ce := closeErr(err)
	if ce == nil {
		t.Fatalf("connection ended with %v (%T), want a *websocket.CloseError", err, err)
	}
	if int(ce.Code) != code || ce.Reason != reason || ce.Initiator != who || ce.Frames != frames || ce.Err != nil {
		t.Errorf("CloseError{Code %d, Reason %q, Initiator %v, Frames %v, Err %v}, want {%d, %q, %v, %v, nil}",
			ce.Code, ce.Reason, ce.Initiator, ce.Frames, ce.Err, code, reason, who, frames)
	}
}
