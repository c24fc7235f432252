//go:build !linux

package websocket

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// Without epoll a Loop runs a goroutine per connection and never reads or
// writes descriptors itself.

func connFD(net.Conn) (int, bool) { return 0, false }

var errNoRawIO = errors.New("websocket: raw descriptor I/O is not supported on this platform")

func rawRead(int, []byte) (int, error)           { return 0, errNoRawIO }
func lingerFD(int, time.Time)                    {}
func rawWrite(int, []byte) (int, error)          { return 0, errNoRawIO }
func rawWritev(int, []byte, []byte) (int, error) { return 0, errNoRawIO }

// rawIO says this platform's sockets can be written without Go's poller
// (rawWriter): here they cannot.
const rawIO = false

type rawWriter struct{}

func newRawWriter() *rawWriter { return &rawWriter{} }

func (*rawWriter) write(syscall.RawConn, []byte) (int, error) { return 0, errNoRawIO }
