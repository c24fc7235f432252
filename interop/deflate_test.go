package interop

import (
	"sync/atomic"

	websocket "github.com/hybi/websocket"
)

// deflateWired says whether package websocket compresses and decompresses
// the messages of a connection that negotiated permessage-deflate (RFC
// 7692): Options.Compression. When false, hybi neither offers nor accepts
// the extension and the compression-on scenarios report "not run" (listed
// in the matrix, never silently skipped).
const deflateWired = true

const deflateNotWired = "not run: permessage-deflate is not wired into package websocket yet"

// rsv1Count counts the frames with RSV1 set (compressed, RFC 7692 §6) that
// hybi sent and received, through the trace hook.
type rsv1Count struct{ in, out atomic.Int64 }

func (c *rsv1Count) trace(e websocket.TraceEvent) {
	if !e.Header.RSV1 {
		return
	}
	if e.Direction == websocket.Sent {
		c.out.Add(1)
	} else {
		c.in.Add(1)
	}
}

// enableServerDeflate makes hybi accept permessage-deflate (/echo-deflate)
// and count compressed frames.
func enableServerDeflate(o *websocket.AcceptOptions, c *rsv1Count) {
	if deflateWired {
		o.Compression = true
		o.Trace = c.trace
	}
}

// enableClientDeflate makes hybi offer permessage-deflate and count
// compressed frames.
func enableClientDeflate(o *websocket.DialOptions, c *rsv1Count) {
	if deflateWired {
		o.Compression = true
		o.Trace = c.trace
	}
}
