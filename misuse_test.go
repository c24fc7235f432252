package websocket

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
)

// Closing from several goroutines while others read, write, ping and
// stream never panics, and afterwards every call reports an error.
func TestConcurrentCloseMisuse(t *testing.T) {
	for i := range 20 {
		var opts *Options
		if i%4 < 2 {
			opts = &Options{PingInterval: time.Millisecond, PongTimeout: time.Second}
		}
		client, server := connPair(t, opts, &Options{PingInterval: time.Millisecond})
		go echo(server)
		var wg sync.WaitGroup
		wg.Go(func() { readUntilError(client) })
		for range 3 {
			wg.Go(func() {
				for {
					if client.WriteMessage(Text, []byte("spam")) != nil {
						return
					}
				}
			})
		}
		wg.Go(func() {
			for {
				wc, err := client.NextWriter(Binary)
				if err != nil {
					return
				}
				wc.Write(make([]byte, 100))
				if wc.Close() != nil {
					return
				}
			}
		})
		wg.Go(func() {
			for client.Ping(nil) == nil {
			}
		})
		var errs [3]error
		wg.Go(func() { errs[0] = client.Close(frame.CloseNormal, "") })
		wg.Go(func() { errs[1] = client.Close(frame.CloseGoingAway, "") })
		if i%2 == 0 {
			wg.Go(func() { errs[2] = client.CloseNow() })
		}
		wg.Wait()
		// At most one Close "won"; the others report an error or the end.
		if errs[0] == nil && errs[1] == nil && i%2 == 1 {
			t.Errorf("run %d: two Close calls both succeeded", i)
		}
		var ce *CloseError
		if _, _, err := client.ReadMessage(nil); !errors.As(err, &ce) {
			t.Errorf("run %d: read after close: %v", i, err)
		}
		if err := client.WriteMessage(Text, nil); err == nil {
			t.Errorf("run %d: write after close succeeded", i)
		}
		if _, err := client.NextWriter(Text); err == nil {
			t.Errorf("run %d: NextWriter after close succeeded", i)
		}
		if err := client.Ping(nil); err == nil {
			t.Errorf("run %d: Ping after close succeeded", i)
		}
	}
}
