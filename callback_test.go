package websocket

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/frame"
)

// Pings are answered with the same payload while the peer reads; OnPing,
// OnPong and OnClose see them; the trace hook sees every frame with its
// payload.
func TestCallbacksAndTrace(t *testing.T) {
	type rec struct {
		Dir     Direction
		Op      frame.Opcode
		Fin     bool
		Masked  bool
		Len     int64
		Payload string
	}
	var mu sync.Mutex
	var events []rec
	var pongs, pings []string
	var closed []string
	copts := &Options{
		Trace: func(ev TraceEvent) {
			mu.Lock()
			events = append(events, rec{ev.Direction, ev.Header.Opcode, ev.Header.Fin, ev.Header.Masked, ev.Header.Length, string(ev.Payload)})
			mu.Unlock()
		},
		TracePayload: true,
		OnPong:       func(p []byte) { pongs = append(pongs, string(p)) },
	}
	sopts := &Options{
		OnPing:  func(p []byte) { pings = append(pings, string(p)) },
		OnClose: func(code frame.CloseCode, reason string) { closed = append(closed, code.String()+" "+reason) },
	}
	client, server := connPair(t, copts, sopts)
	serr := make(chan error, 1)
	go func() { serr <- echoErr(server) }()
	if err := client.Ping([]byte("are you there")); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteMessage(Text, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := client.ReadMessage(nil); err != nil || string(b) != "hi" {
		t.Fatalf("ReadMessage = %q, %v", b, err)
	}
	if err := client.Close(frame.CloseGoingAway, "bye"); err != nil {
		t.Fatal(err)
	}
	<-serr
	closePayload := "\x03\xe9bye"
	want := []rec{
		{Sent, frame.OpPing, true, true, 13, "are you there"},
		{Sent, frame.OpText, true, true, 2, "hi"},
		{Received, frame.OpPong, true, false, 13, "are you there"},
		{Received, frame.OpText, true, false, 2, "hi"},
		{Sent, frame.OpClose, true, true, 5, closePayload},
		{Received, frame.OpClose, true, false, 2, closePayload[:2]}, // the reply echoes the code
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"are you there"}, pongs); diff != "" {
		t.Errorf("OnPong (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"are you there"}, pings); diff != "" {
		t.Errorf("OnPing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{frame.CloseGoingAway.String() + " bye"}, closed); diff != "" {
		t.Errorf("OnClose (-want +got):\n%s", diff)
	}
}

func echoErr(c *Conn) error {
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(buf)
		if err != nil {
			return err
		}
		buf = msg
		if err := c.WriteMessage(typ, msg); err != nil {
			return err
		}
	}
}

// With a live peer the heartbeat keeps pinging and never fires.
func TestHeartbeatHealthyPeer(t *testing.T) {
	var pongs atomic.Int32
	client, server := connPair(t, &Options{
		PingInterval: 10 * time.Millisecond,
		PongTimeout:  2 * time.Second,
		OnPong:       func([]byte) { pongs.Add(1) },
	}, nil)
	serr := make(chan error, 1)
	go func() { serr <- echoErr(server) }()
	cerr := make(chan error, 1)
	go func() { cerr <- readUntilError(client) }()
	for pongs.Load() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := client.Close(frame.CloseNormal, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, ce := viewOf(t, <-cerr)
	if diff := cmp.Diff(closeView{frame.CloseNormal, "", Local, SentThenReceived}, got); diff != "" || ce.Err != nil {
		t.Errorf("client (-want +got):\n%s\nErr %v", diff, ce.Err)
	}
	<-serr
}
