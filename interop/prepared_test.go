package interop

import (
	"testing"

	websocket "github.com/hybi/websocket"
)

// writePrepared sends msg as a PreparedMessage, the way a broadcast does.
func writePrepared(c *websocket.Conn, typ websocket.MessageType, msg []byte) error {
	pm, err := websocket.NewPreparedMessage(typ, msg)
	if err != nil {
		return err
	}
	return c.WritePreparedMessage(pm)
}

// TestHybiServerPrepared: hybi serves with a goroutine per connection and
// echoes every message as a PreparedMessage (compressed or not, as each
// scenario negotiates); each peer is the client, with the same scenarios
// and checks as TestHybiServer.
func TestHybiServerPrepared(t *testing.T) {
	hs := newHybiServer()
	hs.prepared = true
	testServing(t, "prepared-client", serve(t, hybiMux(hs)), &hs.observations)
}
