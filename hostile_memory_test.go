package websocket

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// A peer that announces a frame as large as the message limit and then
// sends its payload in small pieces must not make the server allocate
// the limit: the read buffer may grow ahead of the bytes received by a
// bounded factor, not by a factor per read. 4 connections each announce
// 16 MiB and send 10 pieces of 100 bytes, 20 ms apart; the server's heap
// may grow by a few hundred KiB per connection, not 16 MiB.
func TestHostileAnnouncedLengthMemory(t *testing.T) {
	const conns, limit = 4, 16 << 20
	forBothServers(t, &AcceptOptions{Options: Options{MaxMessageSize: limit}}, func(t *testing.T, s *hostileServer) {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peers []*rawPeer
		for range conns {
			p := dialRaw(t, s.addr(), "")
			h := append([]byte{wstest.FIN | wstest.OpBinary, 0x80 | 127}, binary.BigEndian.AppendUint64(nil, limit)...)
			p.send(t, append(h, wstest.Key[:]...))
			peers = append(peers, p)
		}
		peak := base
		for range 10 {
			for _, p := range peers {
				p.send(t, make([]byte, 100))
			}
			time.Sleep(20 * time.Millisecond)
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		per := float64(peak-min(peak, base)) / conns
		t.Logf("heap in use grew by %.1f KiB per connection for 1 KiB received each", per/1024)
		if per > 2<<20 {
			t.Errorf("the server's heap grew by %.1f MiB per connection for 1 KiB received each (announced %d MiB)", per/(1<<20), limit>>20)
		}
		for _, p := range peers {
			p.nc.Close()
		}
	})
}
