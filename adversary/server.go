package adversary

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hybi/websocket"
)

// ServerConfig is one server under attack.
type ServerConfig struct {
	Loop        bool // serve with a websocket.Loop, else a goroutine per connection
	Compression bool // accept permessage-deflate
}

func (c ServerConfig) String() string {
	s := "goroutine"
	if c.Loop {
		s = "loop"
	}
	if c.Compression {
		s += "+deflate"
	}
	return s
}

// The limits every server under attack runs with: what a careful
// application sets (the attacks check that hybi holds them).
const (
	maxMessage       = 1 << 20
	handshakeTimeout = 2 * time.Second
	pingInterval     = 1 * time.Second
	pongTimeout      = 2 * time.Second
	writeTimeout     = 2 * time.Second
)

func (c ServerConfig) acceptOptions() *websocket.AcceptOptions {
	return &websocket.AcceptOptions{
		Options: websocket.Options{
			MaxMessageSize: maxMessage,
			PingInterval:   pingInterval,
			PongTimeout:    pongTimeout,
			Compression:    c.Compression,
			CloseTimeout:   2 * time.Second,
		},
		HandshakeTimeout: handshakeTimeout,
	}
}

// echo writes a message back, bounded by a write deadline: a peer that
// does not read within writeTimeout is closed with 1008, so it costs the
// writer writeTimeout, never more (the server's slow-consumer policy).
func echo(c *websocket.Conn, typ websocket.MessageType, p []byte) {
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.WriteMessage(typ, p); err != nil && websocket.CloseStatus(err) == 0 {
		c.Close(websocket.ClosePolicyViolation, "peer does not read")
	}
}

// Serve runs the echo server cfg on 127.0.0.1 and a stats listener beside
// it, prints "ws=ADDR stats=ADDR" on stdout, and serves until stdin is
// closed. A stats connection gets one line: "goroutines N".
func Serve(cfg ServerConfig) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	st, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		for {
			nc, err := st.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(nc, "goroutines %d\n", runtime.NumGoroutine())
			nc.Close()
		}
	}()
	var loop *websocket.Loop
	if cfg.Loop {
		loop, err = websocket.NewLoop(&websocket.LoopOptions{
			OnMessage: echo,
		})
		if err != nil {
			return err
		}
	}
	opts := cfg.acceptOptions()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c, err := websocket.Upgrade(nc, nil, opts)
				if err != nil {
					nc.Close()
					return
				}
				if loop != nil {
					if loop.Add(c) != nil {
						c.CloseNow()
					}
					return
				}
				defer c.CloseNow()
				var buf []byte
				for {
					typ, msg, err := c.ReadMessage(buf)
					if err != nil {
						return
					}
					buf = msg
					echo(c, typ, msg)
				}
			}()
		}
	}()
	fmt.Printf("ws=%s stats=%s\n", ln.Addr(), st.Addr())
	bufio.NewReader(os.Stdin).ReadString('\n') // until the runner closes stdin
	return nil
}

// stats asks the server at addr for its goroutine count.
func stats(addr string) (int, error) {
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "goroutines ")))
}

// rss returns the resident memory of process pid in bytes, from /proc (0
// where /proc is missing). Peaks come from sampling it, since VmHWM cannot
// be reset between attacks.
func rss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
