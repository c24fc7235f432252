package lib

import (
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	websocket "github.com/hybi/websocket"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/lxzan/gws"
)

// HeartbeatEnv is the environment variable that sets the heartbeat
// interval of the *-hb servers (a time.Duration; default 30s), read when
// the server starts, so that a parent sets it for its child servers.
const HeartbeatEnv = "HYBI_BENCH_HEARTBEAT"

// QueueLimitEnv sets LoopOptions.WriteQueueLimit, in bytes, of the
// hybi-loop-slow server (default SlowQueueLimit).
const QueueLimitEnv = "HYBI_BENCH_QUEUE_LIMIT"

// SlowQueueLimit is hybi-loop-slow's write queue limit unless
// QueueLimitEnv says otherwise.
const SlowQueueLimit = 256 << 10

// Scale lists the servers of the scale rows (docs/performance.md, "At
// scale"), which ByName finds but All leaves out: they are variants of the
// rows of All, not libraries of their own.
//
//   - hybi-hb: hybi's goroutine per connection with Options.PingInterval
//     and PongTimeout set to the heartbeat interval (one runtime timer per
//     connection).
//   - hybi-loop-hb: the same on a websocket.Loop (whose pollers schedule
//     the heartbeats: one timer per poller).
//   - nbio-hb, gws-hb: nbio's and gws's servers (raw path) with the
//     heartbeat neither library has built in, written as their users
//     write it: one goroutine pings every connection in turn each
//     interval.
//   - hybi-loop-slow: a Loop whose OnMessage echo refuses what a peer does
//     not read: LoopOptions.WriteQueueLimit from QueueLimitEnv, no
//     QueueFullCode, and a write that meets a full queue
//     (websocket.ErrWriteQueueFull) drops the message and keeps the
//     connection.
func Scale() []Lib {
	return []Lib{
		{Name: "hybi-hb", Module: "hybi, goroutine per connection, Options.PingInterval", Serve: hybiHBServe, Dial: hybiDial},
		{Name: "hybi-loop-hb", Module: "hybi, websocket.Loop, Options.PingInterval", Serve: hybiLoopHBServe, Dial: hybiDial},
		{Name: "nbio-hb", Module: "nbio engine, a goroutine pinging every connection each interval", Serve: sweepServe(nbioServe), Dial: nbioDial},
		{Name: "gws-hb", Module: "gws.Server, a goroutine pinging every connection each interval", Serve: sweepServe(gwsServe), Dial: gwsDial},
		{Name: "hybi-loop-slow", Module: "hybi, websocket.Loop, WriteQueueLimit, full queue drops the message", Serve: hybiLoopSlowServe, Dial: hybiDial},
	}
}

// Heartbeat is the interval HeartbeatEnv sets, 30s by default.
func Heartbeat() time.Duration {
	if d, err := time.ParseDuration(os.Getenv(HeartbeatEnv)); err == nil && d > 0 {
		return d
	}
	return 30 * time.Second
}

func slowQueueLimit() int {
	if n, err := strconv.Atoi(os.Getenv(QueueLimitEnv)); err == nil && n > 0 {
		return n
	}
	return SlowQueueLimit
}

// hbOptions are hybi's options with the heartbeat on.
func hbOptions() *websocket.AcceptOptions {
	o := hybiOptions(false)
	o.PingInterval = Heartbeat()
	o.PongTimeout = Heartbeat()
	return &websocket.AcceptOptions{Options: o}
}

// upgradeEach upgrades every connection ln accepts with opts on the raw
// path and hands it to handle on the connection's goroutine.
func upgradeEach(ln net.Listener, opts *websocket.AcceptOptions, handle func(*websocket.Conn)) {
	go acceptLoop(ln, func(nc net.Conn) {
		c, err := websocket.Upgrade(nc, nil, opts)
		if err != nil {
			nc.Close()
			return
		}
		handle(c)
	})
}

func hybiHBServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	if cfg.HTTP || cfg.Deflate {
		return nil, ErrUnsupported
	}
	s := &hybiServer{ln: ln}
	// The reader runs on a fresh goroutine and the upgrading one ends:
	// the handshake grows its goroutine's stack past 2 KiB, which a
	// reader started after it never needs (see TestStackAfterUpgrade),
	// and an idle connection keeps its reader's stack.
	upgradeEach(ln, hbOptions(), func(c *websocket.Conn) { go s.echo(c) })
	return s, nil
}

// loopServe serves ln's connections, upgraded with opts, on a Loop with
// lo's options; OnClose is set to keep the hub.
func loopServe(ln net.Listener, opts *websocket.AcceptOptions, lo websocket.LoopOptions) (Server, error) {
	s := &hybiLoopServer{ln: ln}
	lo.OnClose = func(c *websocket.Conn, _ error) { s.hub.Remove(c) }
	loop, err := websocket.NewLoop(&lo)
	if err != nil {
		return nil, err
	}
	s.loop = loop
	upgradeEach(ln, opts, s.add)
	return s, nil
}

func hybiLoopHBServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	if cfg.HTTP || cfg.Deflate {
		return nil, ErrUnsupported
	}
	return loopServe(ln, hbOptions(), websocket.LoopOptions{
		OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
			if err := c.WriteMessage(typ, p); err != nil {
				c.CloseNow()
			}
		},
	})
}

func hybiLoopSlowServe(ln net.Listener, cfg ServerConfig) (Server, error) {
	if cfg.HTTP || cfg.Deflate {
		return nil, ErrUnsupported
	}
	return loopServe(ln, &websocket.AcceptOptions{Options: hybiOptions(false)}, websocket.LoopOptions{
		WriteQueueLimit: slowQueueLimit(),
		OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
			err := c.WriteMessage(typ, p)
			if err != nil && !errors.Is(err, websocket.ErrWriteQueueFull) {
				c.CloseNow()
			}
		},
	})
}

// sweepServer is a peer's server with an application heartbeat: one
// goroutine pings every connection each interval.
type sweepServer struct {
	Server
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// sweepServe wraps serve (nbio's or gws's raw path) with a sweeping
// heartbeat.
func sweepServe(serve func(net.Listener, ServerConfig) (Server, error)) func(net.Listener, ServerConfig) (Server, error) {
	return func(ln net.Listener, cfg ServerConfig) (Server, error) {
		if cfg.HTTP || cfg.Deflate {
			return nil, ErrUnsupported
		}
		inner, err := serve(ln, cfg)
		if err != nil {
			return nil, err
		}
		var ping func() error
		switch s := inner.(type) {
		case *nbioServer:
			ping = func() error {
				return s.reg.each(func(c *nbws.Conn) error { return c.WriteMessage(nbws.PingMessage, nil) })
			}
		case *gwsServer:
			ping = func() error {
				return s.reg.each(func(c *gws.Conn) error { return c.WritePing(nil) })
			}
		default:
			inner.Close()
			return nil, ErrUnsupported
		}
		ss := &sweepServer{Server: inner, stop: make(chan struct{})}
		ss.wg.Add(1)
		go func() {
			defer ss.wg.Done()
			t := time.NewTicker(Heartbeat())
			defer t.Stop()
			for {
				select {
				case <-ss.stop:
					return
				case <-t.C:
					ping()
				}
			}
		}()
		return ss, nil
	}
}

func (s *sweepServer) Close() error {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
	return s.Server.Close()
}
