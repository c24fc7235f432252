package websocket

import (
	"io"
	"net"
	"os"
	"syscall"
)

// connFD returns the file descriptor of nc when it has one (TCP and Unix
// sockets; not TLS). It stays valid while nc is open.
func connFD(nc net.Conn) (int, bool) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return 0, false
	}
	return fd, fd >= 0
}

// rawRead reads from the non-blocking descriptor fd: errWouldBlock when it
// has no bytes, io.EOF at the end of the stream.
func rawRead(fd int, p []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, p)
		switch {
		case err == nil && n > 0:
			return n, nil
		case err == nil:
			return 0, io.EOF
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, errWouldBlock
		default:
			return 0, os.NewSyscallError("read", err)
		}
	}
}

// rawWrite writes b whole to the non-blocking descriptor fd, or returns
// how much it wrote and errWouldBlock when the socket is full.
func rawWrite(fd int, b []byte) (int, error) {
	written := 0
	for written < len(b) {
		n, err := syscall.Write(fd, b[written:])
		if n > 0 {
			written += n
		}
		switch {
		case err == nil:
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			return written, errWouldBlock
		default:
			return written, os.NewSyscallError("write", err)
		}
	}
	return written, nil
}
