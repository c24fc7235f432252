package fuzz

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
)

// Real traffic: the bytes the Node.js "ws" library (8.23.0, the interop
// peer in interop/node) sent over loopback after the opening handshake,
// as a client (masked) and as a server, with and without
// permessage-deflate (threshold 0, so every message is compressed, with
// context takeover). Each stream carries the text "Hello", a text of
// "κόσμε " and 200 "x", 300 bytes of 0x07 as binary, a Ping "ping", a small
// JSON text, and a Close (client: 1000 "bye", server: 1001 "going away").
var (
	wsNodeClient = mustHex("" +
		"8185fef02951b695453d9181fe00d307b15affc90b9573c8329443c9047a877f" +
		"c922877fc922877fc922877fc922877fc922877fc922877fc922877fc922877f" +
		"c922877fc922877fc922877fc922877fc922877fc922877fc922877fc922877f" +
		"c922877fc922877fc922877fc922877fc922877fc922877fc922877fc922877f" +
		"c922877fc922877fc922877fc922877fc922877fc922877fc922877fc922877f" +
		"c922877fc922877fc922877fc922877fc922877fc922877fc922877fc922877f" +
		"c922877fc922877fc922877fc922877fc922877fc922877fc922877fc922877f" +
		"c922877fc92282fe012c3942e6653e45e1623e45e1623e45e1623e45e1623e45" +
		"e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45" +
		"e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45" +
		"e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45" +
		"e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45" +
		"e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45" +
		"e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45" +
		"e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45" +
		"e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45" +
		"e1623e45e1623e45e1623e45e1623e45e1623e45e1623e45e1628984a18aaea7" +
		"d1e3c0c081abc75424ffbc7645ddfd0f15d3f57817a2eb7646ddfd764c9aab38" +
		"4bdfaf314893a8744c9aab384bdfaf314893a876598885c65c4b0cc5b42975a3")
	wsNodeClientDeflate = mustHex("" +
		"c187e34c2cb41104e17d2a4b2cc1916313fc2a59a41756acea1a5918dd917fcb" +
		"0bda2a63c2873dfe42135fe147573efe42898404b5b84d74dcd62ac19c627e5c" +
		"0cc8281658d0f46ad853ac6d82b72f165ed02c960cc774590030d74a0c88858e" +
		"85ac738d6dce0aeb")
	wsNodeServer = mustHex("" +
		"810548656c6c6f817e00d3cebacf8ccf83cebcceb52078787878787878787878" +
		"7878787878787878787878787878787878787878787878787878787878787878" +
		"7878787878787878787878787878787878787878787878787878787878787878" +
		"7878787878787878787878787878787878787878787878787878787878787878" +
		"7878787878787878787878787878787878787878787878787878787878787878" +
		"7878787878787878787878787878787878787878787878787878787878787878" +
		"787878787878787878787878787878787878787878787878787878787878827e" +
		"012c070707070707070707070707070707070707070707070707070707070707" +
		"0707070707070707070707070707070707070707070707070707070707070707" +
		"0707070707070707070707070707070707070707070707070707070707070707" +
		"0707070707070707070707070707070707070707070707070707070707070707" +
		"0707070707070707070707070707070707070707070707070707070707070707" +
		"0707070707070707070707070707070707070707070707070707070707070707" +
		"0707070707070707070707070707070707070707070707070707070707070707" +
		"0707070707070707070707070707070707070707070707070707070707070707" +
		"0707070707070707070707070707070707070707070707070707070707070707" +
		"0707070707070707070707070707890470696e67812b7b2261223a5b312c322c" +
		"335d2c2262223a2268656c6c6f2068656c6c6f2068656c6c6f2068656c6c6f22" +
		"7d880c03e9676f696e672061776179")
	wsNodeServerDeflate = mustHex("" +
		"c107f248cdc9c90700c1113ab7eb7ccff9e6737bce6d55a818260000c207621f" +
		"0544030000890470696e67c11caa564a54b28a36d431d2318ed5514a52b252ca" +
		"00a50a050c52a91600880c03e9676f696e672061776179")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func init() {
	addSeeds("FuzzConnServer",
		seed{"ws-node-client", []any{wsNodeClient, []byte{}, byte(0)}},
		seed{"ws-node-client-deflate", []any{wsNodeClientDeflate, []byte{}, byte(0x30)}},
	)
	addSeeds("FuzzConnClient",
		seed{"ws-node-server", []any{wsNodeServer, []byte{}, byte(0)}},
		seed{"ws-node-server-deflate", []any{wsNodeServerDeflate, []byte{}, byte(0x30)}},
	)
	addSeeds("FuzzConnChunking",
		seed{"ws-node-client", []any{wsNodeClient, []byte{0, 9, 200}, byte(0x04)}},
		seed{"ws-node-client-deflate", []any{wsNodeClientDeflate, []byte{0, 3}, byte(0x30)}},
		seed{"ws-node-server", []any{wsNodeServer, []byte{17, 1}, byte(0x0c)}},
		seed{"ws-node-server-deflate", []any{wsNodeServerDeflate, []byte{0}, byte(0x38)}},
	)
	addSeeds("FuzzReadHeader",
		seed{"ws-node-client", []any{wsNodeClient, []byte{5, 0}, []byte{2, 2, 1, 0}}},
		seed{"ws-node-server-deflate", []any{wsNodeServerDeflate, []byte{}, []byte{}}},
	)
}

// TestCapturedTraffic pins what the captured streams hold, through the
// fuzz targets' own driver, so the seeds stay meaningful.
func TestCapturedTraffic(t *testing.T) {
	text2 := "κόσμε " + strings.Repeat("x", 200)
	json := `{"a":[1,2,3],"b":"hello hello hello hello"}`
	bin := strings.Repeat("\x07", 300)
	events := func(code frame.CloseCode, reason string) []normEvent {
		return []normEvent{
			{conn.EventData, frame.OpText, "Hello", 0},
			{conn.EventData, frame.OpText, text2, 0},
			{conn.EventData, frame.OpBinary, bin, 0},
			{conn.EventPing, frame.OpPing, "ping", 0},
			{conn.EventData, frame.OpText, json, 0},
			{conn.EventClose, frame.OpClose, reason, code},
		}
	}
	tests := []struct {
		name   string
		role   conn.Role
		mode   byte
		stream []byte
		want   []normEvent
	}{
		{"client frames", conn.Server, 0, wsNodeClient, events(1000, "bye")},
		{"client frames, deflate", conn.Server, 0x30, wsNodeClientDeflate, events(1000, "bye")},
		{"server frames", conn.Client, 0, wsNodeServer, events(1001, "going away")},
		{"server frames, deflate", conn.Client, 0x30, wsNodeServerDeflate, events(1001, "going away")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := drive(t, setup(tt.role, tt.mode), bytes.Clone(tt.stream), []byte{0})
			if diff := cmp.Diff(tt.want, got.Events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if got.ErrCode != 0 || got.State != conn.StateClosed || got.Init != conn.Peer {
				t.Errorf("outcome %+v", got)
			}
		})
	}
}
