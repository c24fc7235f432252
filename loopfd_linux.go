package websocket

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// connFD returns the file descriptor of nc when it is a TCP or Unix
// socket (not TLS). It stays valid while nc is open. It allocates nothing:
// the concrete SyscallConn calls are inlined, and the function given to
// Control captures nothing.
func connFD(nc net.Conn) (int, bool) {
	var rc syscall.RawConn
	var err error
	switch c := nc.(type) {
	case *net.TCPConn:
		rc, err = c.SyscallConn()
	case *net.UnixConn:
		rc, err = c.SyscallConn()
	default:
		return 0, false
	}
	if err != nil {
		return 0, false
	}
	fdMu.Lock()
	defer fdMu.Unlock()
	fdOut = -1
	if err := rc.Control(storeFD); err != nil {
		return 0, false
	}
	return fdOut, fdOut >= 0
}

var (
	fdMu  sync.Mutex
	fdOut int // guarded by fdMu
)

func storeFD(fd uintptr) { fdOut = int(fd) }

// rawRead reads from the non-blocking descriptor fd: errWouldBlock when it
// has no bytes, io.EOF at the end of the stream.
//
// It and the writes below call syscall.Syscall, which returns the errno as
// a syscall.Errno: comparing that with EAGAIN is an integer comparison,
// where comparing the error that syscall.Read returns calls the runtime
// (runtime.ifaceeq), once per system call on a Loop's per-message path.
func rawRead(fd int, p []byte) (int, error) {
	var base unsafe.Pointer
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	for {
		r, _, e := syscall.Syscall(syscall.SYS_READ, uintptr(fd), uintptr(base), uintptr(len(p)))
		switch {
		case e == 0 && r > 0:
			return int(r), nil
		case e == 0:
			return 0, io.EOF
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return 0, errWouldBlock
		default:
			return 0, os.NewSyscallError("read", e)
		}
	}
}

// rawWrite writes b whole to the non-blocking descriptor fd, or returns
// how much it wrote and errWouldBlock when the socket is full.
func rawWrite(fd int, b []byte) (int, error) {
	written := 0
	for written < len(b) {
		rest := b[written:]
		r, _, e := syscall.Syscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		if e == 0 {
			written += int(r)
		}
		switch {
		case e == 0:
		case e == syscall.EINTR:
		case e == syscall.EAGAIN:
			return written, errWouldBlock
		default:
			return written, os.NewSyscallError("write", e)
		}
	}
	return written, nil
}

// rawWritev writes b and then p to the non-blocking descriptor fd, with
// writev while both have bytes left, or returns how much it wrote and
// errWouldBlock when the socket is full.
func rawWritev(fd int, b, p []byte) (int, error) {
	if len(p) == 0 {
		return rawWrite(fd, b)
	}
	if len(b) == 0 {
		return rawWrite(fd, p)
	}
	var iov [2]syscall.Iovec
	written := 0
	for written < len(b) {
		rest := b[written:]
		iov[0].Base, iov[1].Base = &rest[0], &p[0]
		iov[0].SetLen(len(rest))
		iov[1].SetLen(len(p))
		r, _, e := syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
		n := int(r)
		if e != 0 {
			n = 0
		}
		written += n
		switch {
		case e == 0:
		case e == syscall.EINTR:
		case e == syscall.EAGAIN:
			return written, errWouldBlock
		default:
			return written, os.NewSyscallError("writev", e)
		}
	}
	n, err := rawWrite(fd, p[written-len(b):])
	return written + n, err
}

// rawIO says this platform's sockets can be written without Go's poller
// (rawWriter).
const rawIO = true

// rawWriter writes to a socket that Go's poller serves, once, without
// waiting for room: through the socket's RawConn, so that the descriptor
// cannot be closed (and its number reused) during the write. Its function
// is made once, so that a write allocates nothing.
type rawWriter struct {
	b   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func newRawWriter() *rawWriter {
	w := &rawWriter{}
	w.fn = func(fd uintptr) bool {
		w.n, w.err = rawWrite(int(fd), w.b)
		return true // never wait for room
	}
	return w
}

// write writes b to rc's socket as far as it takes it: n bytes, and
// errWouldBlock when it took less than all of b.
func (w *rawWriter) write(rc syscall.RawConn, b []byte) (int, error) {
	w.b = b
	err := rc.Write(w.fn)
	n, werr := w.n, w.err
	w.b, w.n, w.err = nil, 0, nil
	if err != nil {
		return n, err
	}
	return n, werr
}

// lingerFD is linger (read.go) for a socket a Loop's poller serves, run
// on the goroutine that ends the connection, never on a poller: shut the
// write side, then read and discard, waiting in ppoll, until the peer
// closes, nothing came for lingerQuiet, lingerMax bytes were read, or
// the deadline.
func lingerFD(fd int, deadline time.Time) {
	if syscall.Shutdown(fd, syscall.SHUT_WR) != nil {
		return
	}
	b := getChunk()
	defer putChunk(b)
	for drained := 0; drained < lingerMax; {
		n, err := rawRead(fd, *b)
		if err == nil {
			drained += n
			continue
		}
		if err != errWouldBlock {
			return // the end of the stream, or an error
		}
		wait := min(lingerQuiet, time.Until(deadline))
		if wait <= 0 {
			return
		}
		pfd := struct {
			fd              int32
			events, revents int16
		}{fd: int32(fd), events: 0x1} // POLLIN
		ts := syscall.NsecToTimespec(int64(wait))
		r, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || r == 0 {
			return // an error, or quiet for lingerQuiet
		}
	}
}
