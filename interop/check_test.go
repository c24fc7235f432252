package interop

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/handshake"
	"github.com/hybi/websocket/interop/peers"
)

// loopDeadlineNote is the matrix note of read-timeout against the
// Loop-served server, where the check differs (see loopServer).
const loopDeadlineNote = "a Loop never blocks on a read, so no read times out: 100 ms read deadlines (SetReadDeadline) passed while the peer's message was late, the connection stayed open, and OnMessage got the message whole and echoed it"

// checkServerScenario checks one scenario with hybi serving: res is what
// the peer client reported, obs what hybi saw. It returns the matrix note.
func checkServerScenario(t *testing.T, peerName, scenario string, res peers.Result, obs serverObs) string {
	t.Helper()
	if res.Unsupported {
		t.Logf("the peer cannot run this scenario: %s", res.Detail)
		return "n/a: " + res.Detail
	}
	if !res.OK {
		t.Errorf("peer reports failure: %s", res.Error)
	}
	if res.Detail != "" {
		t.Logf("peer: %s", res.Detail)
	}
	if obs.Err != nil {
		t.Errorf("hybi: %v", obs.Err)
	}
	ce := closeErr(obs.End)
	if ce != nil {
		t.Logf("hybi's connection ended with CloseError{Code %d, Reason %q, Initiator %v, Frames %v, Err %v}", ce.Code, ce.Reason, ce.Initiator, ce.Frames, ce.Err)
	}
	note := ""
	switch scenario {
	case "close-peer":
		if ce == nil {
			t.Fatalf("hybi's connection ended with %v, want a *CloseError", obs.End)
		}
		if ce.Code != peers.PeerCloseCode || ce.Reason != peers.PeerCloseReason || ce.Initiator != websocket.Peer {
			t.Errorf("hybi: CloseError{%d, %q, %v}, want {%d, %q, Peer}", ce.Code, ce.Reason, ce.Initiator, peers.PeerCloseCode, peers.PeerCloseReason)
		}
		if res.Code != 0 && res.Code != peers.PeerCloseCode {
			t.Errorf("peer got close code %d back, want its own %d echoed", res.Code, peers.PeerCloseCode)
		}
		if res.Code == 0 {
			note = "peer did not wait for hybi's Close reply"
		}

	case "close-hybi":
		if obs.CloseRet != nil {
			t.Errorf("hybi: Close returned %v, want nil (handshake completed)", obs.CloseRet)
		}
		if ce == nil {
			t.Fatalf("hybi's connection ended with %v, want a *CloseError", obs.End)
		}
		if ce.Code != peers.HybiCloseCode || ce.Reason != peers.HybiCloseReason || ce.Initiator != websocket.Local || ce.Frames != websocket.SentThenReceived || ce.Err != nil {
			t.Errorf("hybi: CloseError{%d, %q, %v, %v, %v}, want {%d, %q, Local, SentThenReceived, nil}", ce.Code, ce.Reason, ce.Initiator, ce.Frames, ce.Err, peers.HybiCloseCode, peers.HybiCloseReason)
		}
		if res.Code != peers.HybiCloseCode || res.Reason != peers.HybiCloseReason {
			t.Errorf("peer saw close %d %q, want %d %q", res.Code, res.Reason, peers.HybiCloseCode, peers.HybiCloseReason)
		}

	case "reject":
		var he *handshake.Error
		if !errors.As(obs.AcceptErr, &he) || he.Status != 403 {
			t.Errorf("hybi: Accept returned %v, want a 403 *handshake.Error", obs.AcceptErr)
		}
		switch res.Status {
		case 403:
		case 0:
			note = "the peer's API does not expose the refused handshake's HTTP status: " + res.Detail
			t.Logf("the peer's library does not expose the refused handshake's status: %s", res.Detail)
		default:
			t.Errorf("peer saw status %d, want 403", res.Status)
		}

	default:
		// Every other scenario ends with the peer closing normally.
		if ce == nil {
			t.Errorf("hybi's connection ended with %v, want a *CloseError", obs.End)
		} else if ce.Initiator != websocket.Peer || ce.Code != 1000 {
			t.Errorf("hybi: CloseError{%d, %v}, want the peer's normal close {1000, Peer}", ce.Code, ce.Initiator)
		}
		switch scenario {
		case "ping":
			// coder pings with a payload of its own choosing.
			if obs.Ping != peers.PeerPing && !(peerName == "coder" && obs.Ping != "") {
				t.Errorf("hybi's OnPing saw %q, want %q", obs.Ping, peers.PeerPing)
			}
		case "read-timeout":
			switch {
			case obs.Loop && obs.Timeouts == 0:
				t.Errorf("no read deadline passed before the peer's message: it was not late")
			case obs.Loop:
				note = loopDeadlineNote
			case obs.Timeouts == 0:
				t.Errorf("hybi's reads never timed out: the peer's message was not late")
			}
		case "heartbeat":
			if obs.Pongs < peers.HeartbeatPongs {
				t.Errorf("hybi's heartbeat got %d pongs, want %d", obs.Pongs, peers.HeartbeatPongs)
			}
		case "hybi-ping":
			if obs.Pong != peers.HybiPing {
				t.Errorf("hybi got pong %q, want %q", obs.Pong, peers.HybiPing)
			}
		case "subprotocol":
			if obs.Subprotocol != peers.Subprotocol || res.Subprotocol != peers.Subprotocol {
				t.Errorf("subprotocol: hybi %q, peer %q, want %q", obs.Subprotocol, res.Subprotocol, peers.Subprotocol)
			}
		case "compression":
			if !deflateWired {
				note = "n/a: " + deflateNotWired + " (the peer's offer was declined and the echo worked)"
			} else {
				if !strings.Contains(res.Extensions, "permessage-deflate") {
					t.Errorf("peer's extensions %q, want permessage-deflate", res.Extensions)
				}
				// Compressed both ways: hybi inflated the peer's frames and
				// the peer inflated hybi's echoes.
				if obs.CompressedIn == 0 || obs.CompressedOut == 0 {
					t.Errorf("hybi's compressed frames: %d received, %d sent; want both > 0", obs.CompressedIn, obs.CompressedOut)
				}
				note = fmt.Sprintf("%s; hybi received %d and sent %d compressed frames", res.Extensions, obs.CompressedIn, obs.CompressedOut)
			}
		case "no-compression":
			if res.Extensions != "" {
				t.Errorf("peer's extensions %q, want none (hybi did not accept the offer)", res.Extensions)
			}
		}
	}
	return note
}
