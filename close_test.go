package websocket

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/internal/wstest"
)

// closeView is the comparable part of a *CloseError.
type closeView struct {
	Code      frame.CloseCode
	Reason    string
	Initiator Initiator
	Frames    CloseFrames
}

func viewOf(t *testing.T, err error) (closeView, *CloseError) {
	t.Helper()
	var ce *CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *CloseError", err, err)
	}
	return closeView{ce.Code, ce.Reason, ce.Initiator, ce.Frames}, ce
}

// readUntilError reads and drops messages until an error.
func readUntilError(c *Conn) error {
	for {
		if _, _, err := c.ReadMessage(nil); err != nil {
			return err
		}
	}
}

func TestClosePaths(t *testing.T) {
	tests := []struct {
		name string
		// copts configures the client.
		copts *Options
		// act makes the connection end; it runs while the client reads
		// (unless noClientReader), and returns the server's final error
		// if it has one to check.
		act            func(t *testing.T, client, server *Conn) error
		noClientReader bool
		want           closeView
		wantErr        error // matched with errors.Is against the client's error; nil means Err must be nil
		wantServer     *closeView
	}{
		{
			name: "local close",
			act: func(t *testing.T, client, server *Conn) error {
				serr := make(chan error, 1)
				go func() { serr <- readUntilError(server) }()
				if err := client.Close(frame.CloseNormal, "bye"); err != nil {
					t.Errorf("Close: %v", err)
				}
				return <-serr
			},
			noClientReader: true,
			want:           closeView{frame.CloseNormal, "bye", Local, SentThenReceived},
			wantServer:     &closeView{frame.CloseNormal, "bye", Peer, ReceivedThenSent},
		},
		{
			name: "local close with an active reader",
			act: func(t *testing.T, client, server *Conn) error {
				serr := make(chan error, 1)
				go func() { serr <- readUntilError(server) }()
				time.Sleep(10 * time.Millisecond) // let the client reader block
				if err := client.Close(frame.CloseNormal, "bye"); err != nil {
					t.Errorf("Close: %v", err)
				}
				return <-serr
			},
			want:       closeView{frame.CloseNormal, "bye", Local, SentThenReceived},
			wantServer: &closeView{frame.CloseNormal, "bye", Peer, ReceivedThenSent},
		},
		{
			name: "peer close",
			act: func(t *testing.T, client, server *Conn) error {
				return server.Close(frame.CloseGoingAway, "restart")
			},
			want: closeView{frame.CloseGoingAway, "restart", Peer, ReceivedThenSent},
		},
		{
			name: "simultaneous close",
			act: func(t *testing.T, client, server *Conn) error {
				var wg sync.WaitGroup
				var cerr, serr error
				wg.Go(func() { cerr = client.Close(frame.CloseNormal, "client") })
				wg.Go(func() { serr = server.Close(frame.CloseGoingAway, "server") })
				wg.Wait()
				if cerr != nil || serr != nil {
					t.Errorf("Close: client %v, server %v", cerr, serr)
				}
				_, _, err := server.ReadMessage(nil)
				return err
			},
			noClientReader: true,
			want:           closeView{frame.CloseNormal, "client", Local, SentThenReceived},
			wantServer:     &closeView{frame.CloseGoingAway, "server", Local, SentThenReceived},
		},
		{
			name: "peer vanishes (EOF)",
			act: func(t *testing.T, client, server *Conn) error {
				server.nc.Close()
				return nil
			},
			want:    closeView{frame.CloseAbnormal, "", None, NoCloseFrames},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name: "connection reset",
			act: func(t *testing.T, client, server *Conn) error {
				tc := server.nc.(*net.TCPConn)
				tc.SetLinger(0)
				tc.Close()
				return nil
			},
			want:    closeView{frame.CloseAbnormal, "", None, NoCloseFrames},
			wantErr: syscall.ECONNRESET,
		},
		{
			name:  "heartbeat timeout",
			copts: &Options{PingInterval: 20 * time.Millisecond, PongTimeout: 100 * time.Millisecond},
			act: func(t *testing.T, client, server *Conn) error {
				// The server answers Pings while it reads, then stops
				// reading (a hung peer): no more Pongs.
				server.SetReadDeadline(time.Now().Add(60 * time.Millisecond))
				go readUntilError(server)
				return nil
			},
			want:    closeView{frame.CloseAbnormal, "", None, NoCloseFrames},
			wantErr: ErrHeartbeatTimeout,
		},
		{
			name: "protocol violation by the peer",
			act: func(t *testing.T, client, server *Conn) error {
				server.nc.Write(wstest.Server(3, []byte("?")))
				// The peer sees our Close frame with 1002 (whether its
				// reply still goes out before we close TCP is a race).
				serr := readUntilError(server)
				if got := CloseStatus(serr); got != frame.CloseProtocolError {
					t.Errorf("server sees %v, want 1002", serr)
				}
				return nil
			},
			want:    closeView{frame.CloseProtocolError, frame.ErrReservedOpcode.Reason, Local, SentOnly},
			wantErr: frame.ErrReservedOpcode,
		},
		{
			name: "invalid UTF-8 from the peer",
			act: func(t *testing.T, client, server *Conn) error {
				server.nc.Write(wstest.Server(wstest.OpText, []byte{'a', 0xff}))
				return nil
			},
			want:    closeView{frame.CloseInvalidPayload, frame.ErrInvalidUTF8.Reason, Local, SentOnly},
			wantErr: frame.ErrInvalidUTF8,
		},
		{
			name:  "message over MaxMessageSize",
			copts: &Options{MaxMessageSize: 10},
			act: func(t *testing.T, client, server *Conn) error {
				// Two frames within the limit, a message over it.
				server.WriteFrame(frame.OpBinary, frame.More, make([]byte, 6))
				server.WriteFrame(frame.OpContinuation, 0, make([]byte, 6))
				return nil
			},
			want:    closeView{frame.CloseMessageTooBig, frame.ErrMessageTooBig.Reason, Local, SentOnly},
			wantErr: frame.ErrMessageTooBig,
		},
		{
			name: "CloseNow",
			act: func(t *testing.T, client, server *Conn) error {
				time.Sleep(10 * time.Millisecond)
				if err := client.CloseNow(); err != nil {
					t.Errorf("CloseNow: %v", err)
				}
				return nil
			},
			want:    closeView{frame.CloseAbnormal, "", Local, NoCloseFrames},
			wantErr: net.ErrClosed,
		},
		{
			name:  "close timeout",
			copts: &Options{CloseTimeout: 100 * time.Millisecond},
			act: func(t *testing.T, client, server *Conn) error {
				err := client.Close(frame.CloseNormal, "")
				if !errors.Is(err, ErrCloseTimeout) {
					t.Errorf("Close = %v, want ErrCloseTimeout", err)
				}
				return nil
			},
			noClientReader: true,
			want:           closeView{frame.CloseNormal, "", Local, SentOnly},
			wantErr:        ErrCloseTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, server := connPair(t, tt.copts, nil)
			cerr := make(chan error, 1)
			if !tt.noClientReader {
				go func() { cerr <- readUntilError(client) }()
			}
			serr := tt.act(t, client, server)
			var err error
			if tt.noClientReader {
				_, _, err = client.ReadMessage(nil)
			} else {
				err = <-cerr
			}
			got, ce := viewOf(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("client CloseError (-want +got):\n%s\n%v", diff, err)
			}
			if tt.wantErr == nil && ce.Err != nil || tt.wantErr != nil && !errors.Is(ce.Err, tt.wantErr) {
				t.Errorf("client Err = %v, want %v", ce.Err, tt.wantErr)
			}
			if tt.wantServer != nil {
				got, _ := viewOf(t, serr)
				if diff := cmp.Diff(*tt.wantServer, got); diff != "" {
					t.Errorf("server CloseError (-want +got):\n%s\n%v", diff, serr)
				}
			}
			// Every later call returns the same error; nothing panics.
			if _, _, err2 := client.ReadMessage(nil); err2 != ce {
				t.Errorf("second read: %v, want the same *CloseError", err2)
			}
			if err := client.WriteMessage(Text, []byte("late")); err == nil {
				t.Error("write after close succeeded")
			}
			if err := client.Close(frame.CloseNormal, ""); err == nil {
				t.Error("second Close succeeded")
			}
			if err := client.CloseNow(); err == nil {
				t.Error("CloseNow after close succeeded")
			}
			if CloseStatus(err) != tt.want.Code {
				t.Errorf("CloseStatus = %v, want %v", CloseStatus(err), tt.want.Code)
			}
		})
	}
}

// The distinct causes map to distinct CloseErrors; Is matches on Code.
func TestCloseErrorIs(t *testing.T) {
	err := error(&CloseError{Code: frame.CloseGoingAway, Initiator: Peer})
	if !errors.Is(err, &CloseError{Code: frame.CloseGoingAway}) {
		t.Error("Is does not match the same code")
	}
	if errors.Is(err, &CloseError{Code: frame.CloseNormal}) {
		t.Error("Is matches another code")
	}
	if got := CloseStatus(errors.New("x")); got != 0 {
		t.Errorf("CloseStatus(non-close) = %v", got)
	}
	want := "websocket: closed by peer: 1001 (going away) \"restart\" (close received, then sent)"
	err = &CloseError{Code: frame.CloseGoingAway, Reason: "restart", Initiator: Peer, Frames: ReceivedThenSent}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Error() (-want +got):\n%s", diff)
	}
}

// RFC 6455 §7.1.1: the server closes TCP first; the client waits for it.
func TestServerClosesTCPFirst(t *testing.T) {
	t.Run("client waits", func(t *testing.T) {
		result := make(chan string, 1)
		url := rawServe(t, func(nc net.Conn, br *bufio.Reader) {
			fr := frame.NewReader(br)
			h, err := fr.ReadHeader()
			if err != nil || h.Opcode != frame.OpClose {
				result <- fmt.Sprintf("want a Close frame, got %v %v", h.Opcode, err)
				return
			}
			io.CopyN(io.Discard, br, h.Length)
			nc.Write(wstest.Server(wstest.OpClose, []byte{0x03, 0xe8}))
			// The client must not close TCP now: our read must time out,
			// not see EOF.
			nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			_, err = br.ReadByte()
			if isTimeout(err) {
				result <- "waited"
			} else {
				result <- fmt.Sprintf("client closed first (read: %v)", err)
			}
			// returning closes TCP: the server closes first
		})
		c := dial(t, url, nil)
		if err := c.Close(frame.CloseNormal, ""); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := <-result; got != "waited" {
			t.Error(got)
		}
	})
	t.Run("server closes", func(t *testing.T) {
		peer, sn := tcpPair(t) // peer acts as a raw client
		server, err := newConn(sn, false, nil, &Options{}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		peer.Write(wstest.Client(wstest.OpClose, []byte{0x03, 0xe8}))
		serr := make(chan error, 1)
		go func() { serr <- readUntilError(server) }()
		br := bufio.NewReader(peer)
		h, err := frame.NewReader(br).ReadHeader()
		if err != nil || h.Opcode != frame.OpClose {
			t.Fatalf("want the Close reply, got %v %v", h.Opcode, err)
		}
		io.CopyN(io.Discard, br, h.Length)
		// Without closing our end, the server's FIN arrives.
		peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("after the Close exchange read %v, want EOF from the server", err)
		}
		if got, _ := viewOf(t, <-serr); got != (closeView{frame.CloseNormal, "", Peer, ReceivedThenSent}) {
			t.Errorf("server ended with %+v", got)
		}
	})
}

// SetReadLimit lowers the message size limit at run time; over it, the
// connection fails with 1009 before the excess is read.
func TestSetReadLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(server *Conn)
	}{
		{"one frame", func(s *Conn) { s.WriteMessage(Binary, make([]byte, 11)) }},
		{"fragments", func(s *Conn) {
			s.WriteFrame(frame.OpBinary, frame.More, make([]byte, 6))
			s.WriteFrame(frame.OpContinuation, 0, make([]byte, 6))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := connPair(t, nil, nil)
			client.SetReadLimit(10)
			server.WriteMessage(Binary, make([]byte, 10)) // exactly the limit: fine
			if _, b, err := client.ReadMessage(nil); err != nil || len(b) != 10 {
				t.Fatalf("message at the limit: %d bytes, %v", len(b), err)
			}
			go tc.write(server)
			_, _, err := client.ReadMessage(nil)
			got, ce := viewOf(t, err)
			want := closeView{frame.CloseMessageTooBig, "message exceeds the size limit", Local, SentOnly}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var pe *frame.ProtocolError
			if !errors.As(ce.Err, &pe) || pe.Code != frame.CloseMessageTooBig {
				t.Errorf("Err = %v, want a 1009 *frame.ProtocolError", ce.Err)
			}
			if got := CloseStatus(readUntilError(server)); got != frame.CloseMessageTooBig {
				t.Errorf("server saw %v, want 1009", got)
			}
		})
	}
}
