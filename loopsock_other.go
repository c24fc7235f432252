//go:build !linux

package websocket

import "net"

// Without epoll a Loop never takes a socket over (see loopsock_linux.go):
// take fails, so the embedded net.Conn is never used.
type loopSocket struct {
	net.Conn
	fd int32
}

func (*loopSocket) take(net.Conn) bool  { return false }
func (*loopSocket) taken() bool         { return false }
func (*loopSocket) untake()             {}
func (s *loopSocket) netConn() net.Conn { return s }
