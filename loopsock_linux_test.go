//go:build linux

package websocket

import (
	"net"
	"os"
	"testing"
	"time"
)

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents)
}

// A server connection a poller serves keeps only its socket's descriptor
// (loopSocket): its addresses, NetConn with socket options, messages,
// Close and the descriptor count behave as with the net.TCPConn it had.
func TestLoopSocketTakenOver(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	client, server, s := loopConnPair(t, LoopOptions{OnMessage: echoMessage})
	ls, ok := server.transport().(*loopSocket)
	if !ok {
		t.Fatalf("server transport is %T, want *loopSocket", server.transport())
	}
	if got, want := server.LocalAddr().String(), client.RemoteAddr().String(); got != want {
		t.Errorf("server LocalAddr %s, client RemoteAddr %s", got, want)
	}
	if got, want := server.RemoteAddr().String(), client.LocalAddr().String(); got != want {
		t.Errorf("server RemoteAddr %s, client LocalAddr %s", got, want)
	}
	if server.LocalAddr().Network() != "tcp" {
		t.Errorf("LocalAddr network %q", server.LocalAddr().Network())
	}
	nc, ok := server.NetConn().(*net.TCPConn)
	if !ok {
		t.Fatalf("NetConn is %T, want *net.TCPConn", server.NetConn())
	}
	if server.NetConn() != net.Conn(nc) {
		t.Error("NetConn made a second connection")
	}
	if nc.LocalAddr().String() != server.LocalAddr().String() || nc.RemoteAddr().String() != server.RemoteAddr().String() {
		t.Errorf("NetConn addresses %s %s, Conn's %s %s", nc.LocalAddr(), nc.RemoteAddr(), server.LocalAddr(), server.RemoteAddr())
	}
	if err := nc.SetNoDelay(false); err != nil {
		t.Errorf("SetNoDelay through NetConn: %v", err)
	}
	if err := server.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Errorf("SetReadDeadline: %v", err)
	}
	// Closing NetConn's connection closes a duplicate only.
	nc.Close()
	for i := range 3 {
		if err := client.WriteMessage(Binary, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, p, err := client.ReadMessage(nil)
		if err != nil || len(p) != 1 || p[0] != byte(i) {
			t.Fatalf("echo %d: %q, %v", i, p, err)
		}
	}
	read := make(chan error, 1)
	go func() {
		_, _, err := client.ReadMessage(nil)
		read <- err
	}()
	if err := server.Close(CloseNormal, "bye"); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-read; CloseStatus(err) != CloseNormal {
		t.Errorf("client read after the server's Close: %v", err)
	}
	select {
	case <-s.closes:
	case <-time.After(10 * time.Second):
		t.Fatal("no OnClose")
	}
	// The poller may have been using the descriptor: then it closes it
	// when it lets go.
	for deadline := time.Now().Add(10 * time.Second); ls.state.Load() != sockClosed; {
		if time.Now().After(deadline) {
			t.Fatal("the socket is open after Close")
		}
		time.Sleep(time.Millisecond)
	}
}

// Connections that a Loop took over leave no descriptor behind, however
// they end.
func TestLoopSocketNoLeak(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	s := newLoopServer(t, nil, echoMessage)
	before := openFDs(t)
	const n = 30
	for i := range n {
		client := dial(t, s.url, nil)
		server := <-s.conns
		switch i % 3 {
		case 0:
			server.CloseNow()
		case 1:
			client.Close(CloseNormal, "")
		case 2:
			server.NetConn() // a duplicate more, closed with the socket
			client.CloseNow()
		}
		<-s.closes
		client.CloseNow()
	}
	deadline := time.Now().Add(10 * time.Second)
	for openFDs(t) > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := openFDs(t); after > before {
		t.Errorf("%d descriptors open after %d connections came and went, %d before", after, n, before)
	}
}

// The socket of a connection that ends while a goroutine uses its
// descriptor (loopConn.enter) stays open until the last such use ends
// (exit), which closes it, once; no use begins after the end.
func TestLoopSocketClosedByLastUser(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	_, server, _ := loopConnPair(t, LoopOptions{})
	ls, ok := server.transport().(*loopSocket)
	if !ok {
		t.Fatalf("server transport is %T, want *loopSocket", server.transport())
	}
	lc := server.lc.Load()
	for range 2 {
		if !lc.enter(server) {
			t.Fatal("enter refused on an open connection")
		}
	}
	server.CloseNow()
	if lc.enter(server) {
		t.Fatal("enter succeeded after the connection ended")
	}
	lc.exit(server)
	if got := ls.state.Load(); got != sockOpen {
		t.Fatalf("socket state %d with one use left, want open (%d)", got, sockOpen)
	}
	lc.exit(server)
	if got := ls.state.Load(); got != sockClosed {
		t.Fatalf("socket state %d after the last use, want closed (%d)", got, sockClosed)
	}
	if got := lc.busy.Load(); got != busyDetached {
		t.Fatalf("busy %#x after the last use, want busyDetached only", got)
	}
}
