package peers

import (
	"context"
	"fmt"
	"sync"
)

// pump turns a library's reading (a loop or callbacks) into Recv and
// PingWait: the library side calls message, pong and stop; the scenario
// side calls Recv and waitPong.
type pump struct {
	msgs     chan Message
	pongs    chan []byte
	end      chan struct{} // closed by stop; err is set before
	err      error
	stopOnce sync.Once
	quit     chan struct{} // closed by abort
	quitOnce sync.Once
}

func newPump() *pump {
	return &pump{
		msgs:  make(chan Message, 16),
		pongs: make(chan []byte, 16),
		end:   make(chan struct{}),
		quit:  make(chan struct{}),
	}
}

// message hands m to Recv; it reports false once the connection was aborted.
func (p *pump) message(m Message) bool {
	select {
	case p.msgs <- m:
		return true
	case <-p.quit:
		return false
	}
}

func (p *pump) pong(b []byte) {
	select {
	case p.pongs <- append([]byte(nil), b...):
	default:
	}
}

// stop records the reading side's final error (a *closeError when the
// peer's Close frame arrived).
func (p *pump) stop(err error) {
	p.stopOnce.Do(func() {
		p.err = err
		close(p.end)
	})
}

func (p *pump) abort() { p.quitOnce.Do(func() { close(p.quit) }) }

func (p *pump) Recv(ctx context.Context) (Message, error) {
	select {
	case m := <-p.msgs:
		return m, nil
	case <-p.end:
		select {
		case m := <-p.msgs:
			return m, nil
		default:
		}
		return Message{}, p.err
	case <-ctx.Done():
		return Message{}, fmt.Errorf("peers: recv: %w", ctx.Err())
	}
}

// waitPong waits for a Pong and checks that it echoes payload.
func (p *pump) waitPong(ctx context.Context, payload string) error {
	select {
	case b := <-p.pongs:
		if string(b) != payload {
			return fmt.Errorf("peers: pong payload %q, want %q", b, payload)
		}
		return nil
	case <-p.end:
		return fmt.Errorf("peers: connection ended before the pong: %v", p.err)
	case <-ctx.Done():
		return fmt.Errorf("peers: no pong: %w", ctx.Err())
	}
}
