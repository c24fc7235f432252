package websocket

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loopSocket is the transport of a server connection whose TCP socket a
// Loop took over in Add: the Loop needs only the descriptor, so the
// net.TCPConn, with its net.netFD, addresses and runtime poll descriptor,
// is closed after its descriptor was duplicated into fd. The addresses are
// kept in their compact form. It is a net.Conn for Conn's own use (Close,
// addresses, deadlines that the Loop does not need); its Read and Write
// are never called, since the Loop does the raw I/O on fd.
type loopSocket struct {
	local, remote netip.AddrPort
	// nc is NetConn's *net.TCPConn on another duplicate of fd, made at
	// its first call and closed with the socket.
	nc    atomic.Pointer[net.TCPConn]
	fd    int32
	state atomic.Int32 // sockNone, then sockOpen (take) and sockClosed (Close)
}

const (
	sockNone = iota
	sockOpen
	sockClosed
)

// taken reports whether take succeeded: s stands for the net.Conn.
func (s *loopSocket) taken() bool { return s.state.Load() != sockNone }

// untake closes the descriptor take duplicated, for a connection that
// ended before s could replace its net.Conn.
func (s *loopSocket) untake() {
	syscall.Close(int(s.fd))
	s.state.Store(sockNone)
}

var errLoopSocket = errors.New("websocket: the socket is read and written by a Loop")

// take duplicates the descriptor of nc, a server's TCP socket, and records
// its addresses: on success s stands for nc from now on, and the caller
// closes nc (its descriptor only: the socket lives on in s.fd).
func (s *loopSocket) take(nc net.Conn) bool {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return false
	}
	la, ok1 := tc.LocalAddr().(*net.TCPAddr)
	ra, ok2 := tc.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	// Duplicated inside Control, which keeps nc's descriptor from being
	// closed (and its number reused) meanwhile.
	dupMu.Lock()
	dupOut, dupErr = -1, nil
	err = rc.Control(dupInto)
	fd, derr := dupOut, dupErr
	dupMu.Unlock()
	if err != nil || derr != nil || fd < 0 {
		return false
	}
	s.local, s.remote = la.AddrPort(), ra.AddrPort()
	s.fd = int32(fd)
	s.state.Store(sockOpen)
	return true
}

var (
	dupMu  sync.Mutex
	dupOut int   // guarded by dupMu
	dupErr error // guarded by dupMu
)

// dupInto is rc.Control's function for take; it captures nothing, so the
// call allocates nothing.
func dupInto(fd uintptr) { dupOut, dupErr = dupFD(int(fd)) }

// dupFD duplicates fd, close-on-exec, as the lowest free descriptor.
func dupFD(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, os.NewSyscallError("fcntl", e)
	}
	return int(r), nil
}

// netConn returns NetConn's connection: a *net.TCPConn on a duplicate of
// fd, made once. The caller keeps fd open meanwhile (loopConn.enter).
func (s *loopSocket) netConn() net.Conn {
	if nc := s.nc.Load(); nc != nil {
		return nc
	}
	fd, err := dupFD(int(s.fd))
	if err != nil {
		return s
	}
	f := os.NewFile(uintptr(fd), "")
	nc, err := net.FileConn(f) // on a duplicate of fd again
	f.Close()
	if err != nil {
		return s
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return s
	}
	if !s.nc.CompareAndSwap(nil, tc) {
		tc.Close()
	}
	return s.nc.Load()
}

// Close closes the socket, once.
func (s *loopSocket) Close() error {
	if !s.state.CompareAndSwap(sockOpen, sockClosed) {
		return net.ErrClosed
	}
	if nc := s.nc.Load(); nc != nil {
		nc.Close()
	}
	return os.NewSyscallError("close", syscall.Close(int(s.fd)))
}

func (s *loopSocket) Read([]byte) (int, error)  { return 0, errLoopSocket }
func (s *loopSocket) Write([]byte) (int, error) { return 0, errLoopSocket }

// LocalAddr and RemoteAddr return the addresses the net.TCPConn had.
func (s *loopSocket) LocalAddr() net.Addr  { return net.TCPAddrFromAddrPort(s.local) }
func (s *loopSocket) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(s.remote) }

// The Loop never blocks on the descriptor: read deadlines have nothing to
// act on, and the write deadline bounds the Loop's queue (loopConn).
func (s *loopSocket) SetDeadline(time.Time) error      { return nil }
func (s *loopSocket) SetReadDeadline(time.Time) error  { return nil }
func (s *loopSocket) SetWriteDeadline(time.Time) error { return nil }
