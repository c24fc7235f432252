package websocket

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// ctxError is returned when a ctx-taking method stopped because its
// context ended. It matches the context's error and, like a deadline,
// os.ErrDeadlineExceeded (and ErrWriteQueued when a frame was queued): the
// connection stays open.
type ctxError struct {
	ctx error // context.Canceled or context.DeadlineExceeded
	io  error // the timeout the socket returned
}

func (e *ctxError) Error() string   { return "websocket: " + e.ctx.Error() + ": " + e.io.Error() }
func (e *ctxError) Unwrap() []error { return []error{e.ctx, e.io} }
func (e *ctxError) Timeout() bool   { return true }

func loadDeadline(a *atomic.Int64) time.Time {
	if d := a.Load(); d != 0 {
		return time.Unix(0, d)
	}
	return time.Time{}
}

// bindDeadline makes the socket deadline set by set follow ctx for one
// call: the earlier of ctx's deadline and the user's (kept in user) applies,
// and cancelling ctx sets a deadline in the past. eff, when not nil,
// records the deadline ctx imposes (unix nanos; noBound when ctx has none
// but can be cancelled, 0 after the call), and cancel runs when ctx is
// cancelled, for the writes a read makes on its own (Pongs, queueControl)
// to honour ctx too.
// The returned function restores the user's deadline and turns a timeout
// caused by ctx into a *ctxError.
func bindDeadline(ctx context.Context, set func(time.Time) error, user, eff *atomic.Int64, cancel func()) (func(error) error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, hasD := ctx.Deadline()
	if ctx.Done() == nil && !hasD {
		return func(err error) error { return err }, nil
	}
	if eff != nil {
		eff.Store(noBound) // cancellable, with no deadline of its own
	}
	if orig := loadDeadline(user); hasD && (orig.IsZero() || d.Before(orig)) {
		if eff != nil {
			eff.Store(d.UnixNano())
		}
		set(d)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		if eff != nil {
			eff.Store(longAgo.UnixNano())
		}
		set(longAgo)
		if cancel != nil {
			cancel()
		}
		close(fired)
	})
	return func(err error) error {
		if !stop() {
			<-fired
		}
		if eff != nil {
			eff.Store(0)
		}
		set(loadDeadline(user))
		if err != nil && isTimeout(err) {
			if cerr := ctx.Err(); cerr != nil {
				return &ctxError{ctx: cerr, io: err}
			}
			if hasD && !time.Now().Before(d) {
				return &ctxError{ctx: context.DeadlineExceeded, io: err}
			}
		}
		return err
	}, nil
}

// ReadMessageContext is ReadMessage bounded by ctx as well as by the read
// deadline. When ctx ends first the error matches ctx.Err() (and
// os.ErrDeadlineExceeded), the connection stays open and the next read
// resumes where this one stopped. It allocates for the context binding
// unless ctx can never end.
func (c *Conn) ReadMessageContext(ctx context.Context, dst []byte) (MessageType, []byte, error) {
	release, err := bindDeadline(ctx, c.setReadDeadline, &c.rdeadline, &c.ctxRdeadline, c.cutControl)
	if err != nil {
		return 0, dst[:0], err
	}
	typ, b, err := c.ReadMessage(dst)
	return typ, b, release(err)
}

// NextReaderContext is NextReader bounded by ctx while it waits for the
// start of a message; reads from the returned reader use the read
// deadline only.
func (c *Conn) NextReaderContext(ctx context.Context) (MessageType, io.Reader, error) {
	release, err := bindDeadline(ctx, c.setReadDeadline, &c.rdeadline, &c.ctxRdeadline, c.cutControl)
	if err != nil {
		return 0, nil, err
	}
	typ, r, err := c.NextReader()
	return typ, r, release(err)
}

// WriteMessageContext is WriteMessage bounded by ctx as well as by the
// write deadline. When ctx ends first the error matches ctx.Err(); if the
// frame was already committed it also matches ErrWriteQueued (the rest goes
// out with the next write, see SetWriteDeadline).
func (c *Conn) WriteMessageContext(ctx context.Context, typ MessageType, p []byte) error {
	release, err := bindDeadline(ctx, c.setWriteDeadline, &c.wdeadline, nil, nil)
	if err != nil {
		return err
	}
	return release(c.WriteMessage(typ, p))
}
