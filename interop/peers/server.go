package peers

import (
	"context"
	"net/http"
	"path"
	"time"
)

// ScenarioTimeout bounds each connection a peer serves or makes.
const ScenarioTimeout = 20 * time.Second

// Server returns lib's interop server, which hybi dials. Paths:
//
//	/echo       echo every message (Subprotocol supported; permessage-deflate
//	            accepted when offered and the library has it)
//	/close      send Close PeerCloseCode PeerCloseReason at once
//	/ping       Ping with PeerPing; once the Pong echoes it, send PongOK
//	/fragments  send Payload(text, FragmentedSize) in several frames
//	/deadline   send LateMessage after LateDelay, then echo
//	/reject     refuse the handshake: 403 with RejectBody
//
// report gets what the peer saw at the end of each connection, tagged with
// the "s" query parameter.
func Server(lib Lib, report func(Event)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := r.URL.Query().Get("s")
		p := path.Base(r.URL.Path)
		if p == "reject" {
			http.Error(w, RejectBody, http.StatusForbidden)
			return
		}
		c, err := lib.Upgrade(w, r, true)
		if err != nil {
			report(Event{Scenario: s, Event: "error", Detail: "upgrade: " + err.Error()})
			return
		}
		defer c.Abort()
		ctx, cancel := context.WithTimeout(context.Background(), ScenarioTimeout)
		defer cancel()
		switch p {
		case "close":
			if err := c.Close(ctx, PeerCloseCode, PeerCloseReason); err != nil {
				report(Event{Scenario: s, Event: "error", Detail: "close: " + err.Error()})
			}
		case "ping":
			go func() {
				what, err := c.PingWait(ctx, PeerPing)
				if err != nil {
					report(Event{Scenario: s, Event: "error", Detail: "ping: " + err.Error()})
					c.Send(ctx, Message{Data: []byte("pong-fail: " + err.Error())})
					return
				}
				report(Event{Scenario: s, Event: "pong", Detail: what})
				c.Send(ctx, Message{Data: []byte(PongOK)})
			}()
		case "deadline":
			time.Sleep(LateDelay)
			if err := c.Send(ctx, Message{Data: []byte(LateMessage)}); err != nil {
				report(Event{Scenario: s, Event: "error", Detail: "send: " + err.Error()})
			}
		case "fragments":
			if err := c.SendFragmented(ctx, Message{Data: Payload(false, FragmentedSize)}); err != nil {
				report(Event{Scenario: s, Event: "error", Detail: "send fragmented: " + err.Error()})
			}
		}
		// Echo (the ping case reads only, so that one goroutine writes).
		for {
			m, err := c.Recv(ctx)
			if err != nil {
				if code, reason, ok := CloseStatus(err); ok {
					report(Event{Scenario: s, Event: "close", Code: code, Reason: reason})
				} else {
					report(Event{Scenario: s, Event: "end", Detail: err.Error()})
				}
				return
			}
			if p == "ping" || p == "close" {
				continue
			}
			if err := c.Send(ctx, m); err != nil {
				report(Event{Scenario: s, Event: "error", Detail: "send: " + err.Error()})
				return
			}
		}
	})
}
