// Package netpoll is a small edge-triggered readiness poller over Linux
// epoll(7). It lets an event loop serve thousands of idle WebSocket
// connections without parking a goroutine (and its stack) on each one: an
// idle connection costs its net.Conn and one epoll registration, nothing
// more.
//
// The poller watches file descriptors that Go's net package already owns,
// obtained with syscall.Conn's SyscallConn().Control. It only reports that
// bytes arrived; the caller reads them itself with syscall.Read (the
// descriptors are already O_NONBLOCK) until it gets EAGAIN.
//
// Registrations are edge-triggered (EPOLLET): Wait reports a descriptor when
// new bytes arrive or the peer hangs up, not while unread bytes remain. A
// caller that stops reading before EAGAIN gets no reminder for the bytes it
// left behind, so it must drain the descriptor on every event (or remember
// that it has not).
//
// The package owns no WebSocket logic and covers no RFC section. It works on
// linux/amd64 and linux/arm64 only (see Supported); elsewhere New fails and
// callers fall back to a goroutine per connection.
package netpoll
