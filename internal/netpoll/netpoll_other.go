//go:build !(linux && (amd64 || arm64))

package netpoll

import (
	"errors"
	"runtime"
)

// Supported reports whether Poller works on this platform. It is false here:
// the poller needs epoll and a syscall.EpollEvent whose Fd and Pad fields
// hold the kernel's 8-byte epoll_data, which only linux/amd64 and
// linux/arm64 are built for.
const Supported = false

var errUnsupported = errors.New("netpoll: event loops are not supported on this platform (" + runtime.GOOS + "/" + runtime.GOARCH + ")")

// poller is the empty state of a Poller where none can be made.
type poller struct{}

func (*poller) init() error                    { return errUnsupported }
func (*poller) add(int, uint64, bool) error    { return errUnsupported }
func (*poller) remove(int) error               { return errUnsupported }
func (*poller) wait([]Event, int) (int, error) { return 0, errUnsupported }
func (*poller) close() error                   { return nil }
