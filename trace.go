package websocket

import (
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// traceIn reports the header of the next received frame when it is in the
// read buffer. The driver keeps its own count of the frame boundaries
// (tnext), since the state machine reports messages, not frames. Called
// only when Options.Trace is set, with the read side held.
func (c *Conn) traceIn() {
	in := c.rbuf[c.r:c.w]
	h, n, err := frame.ParseHeader(in)
	if err != nil {
		return // incomplete (retried when more arrives) or invalid (the machine fails it)
	}
	c.tnext = c.tpos + int64(n) + h.Length
	ev := TraceEvent{Direction: Received, Header: h}
	if c.opts.TracePayload && int64(len(in)-n) >= h.Length {
		c.tbufR = append(c.tbufR[:0], in[n:n+int(h.Length)]...)
		if h.Masked {
			mask.Apply(h.Key, 0, c.tbufR)
		}
		ev.Payload = c.tbufR
	}
	c.opts.Trace(ev)
}

// traceOut reports each whole frame in b (bytes about to be written),
// unmasking payloads into *scratch when TracePayload is set.
func (c *Conn) traceOut(b []byte, scratch *[]byte) {
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil || int64(len(b)-n) < h.Length {
			return
		}
		ev := TraceEvent{Direction: Sent, Header: h}
		p := b[n : n+int(h.Length)]
		if c.opts.TracePayload {
			if h.Masked {
				*scratch = append((*scratch)[:0], p...)
				mask.Apply(h.Key, 0, *scratch)
				p = *scratch
			}
			ev.Payload = p
		}
		c.opts.Trace(ev)
		b = b[n+int(h.Length):]
	}
}
