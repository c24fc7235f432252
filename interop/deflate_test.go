package interop

import (
	websocket "github.com/hybi/websocket"
)

// deflateWired says whether package websocket compresses and decompresses
// the messages of a connection that negotiated permessage-deflate (RFC
// 7692). Until it does, hybi neither offers nor accepts the extension, and
// the compression-on scenarios report "not run: permessage-deflate not
// wired into websocket" (listed in the matrix, never silently skipped).
// When the deflate package is plugged into websocket, flip this and fill in
// the two functions below.
const deflateWired = false

const deflateNotWired = "not run: permessage-deflate is not wired into package websocket yet"

// enableServerDeflate makes hybi accept permessage-deflate (/echo-deflate).
func enableServerDeflate(o *websocket.AcceptOptions) {}

// enableClientDeflate makes hybi offer permessage-deflate.
func enableClientDeflate(o *websocket.DialOptions) {}
