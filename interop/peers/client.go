package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RunClient runs one scenario of Scenarios with lib as the client against
// hybi serving base (for example "ws://127.0.0.1:8080/gorilla"; the
// scenario's path and "?s=<scenario>" are appended). hybi's server paths
// mirror Server's: /echo, /echo-deflate (permessage-deflate on), /close,
// /ping, /fragments, /reject.
func RunClient(ctx context.Context, lib Lib, base, scenario string) (res Result) {
	res.Scenario = scenario
	ctx, cancel := context.WithTimeout(ctx, ScenarioTimeout)
	defer cancel()
	url := func(p string) string { return base + "/" + p + "?s=" + scenario }
	dial := func(p string, o DialOptions) (Conn, error) {
		c, _, _, err := lib.Dial(ctx, url(p), o)
		if err != nil {
			return nil, fmt.Errorf("dial: %w", err)
		}
		return c, nil
	}
	fail := func(err error) Result {
		res.OK = false
		res.Error = err.Error()
		return res
	}

	if binary, n, ok := ParseEcho(scenario); ok {
		c, err := dial("echo", DialOptions{})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		if err := echo(ctx, c, Message{Binary: binary, Data: Payload(binary, n)}, false); err != nil {
			return fail(err)
		}
		res.OK = true
		closeNormally(ctx, c)
		return res
	}

	switch scenario {
	case "send-fragmented":
		c, err := dial("echo", DialOptions{})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		if err := echo(ctx, c, Message{Data: Payload(false, FragmentedSize)}, true); err != nil {
			return fail(err)
		}
		res.OK = true
		closeNormally(ctx, c)

	case "utf8-fragmented":
		c, err := dial("echo", DialOptions{})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		if err := echo(ctx, c, Message{Data: UTF8Payload()}, true); err != nil {
			return fail(err)
		}
		res.OK = true
		closeNormally(ctx, c)

	case "recv-fragmented":
		c, err := dial("fragments", DialOptions{})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		m, err := c.Recv(ctx)
		if err != nil {
			return fail(fmt.Errorf("recv: %w", err))
		}
		if err := same(Message{Data: Payload(false, FragmentedSize)}, m); err != nil {
			return fail(err)
		}
		res.OK = true
		closeNormally(ctx, c)

	case "ping":
		c, err := dial("echo", DialOptions{})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		what, err := c.PingWait(ctx, PeerPing)
		if err != nil {
			return fail(err)
		}
		res.OK, res.Detail = true, what
		closeNormally(ctx, c)

	case "hybi-ping", "heartbeat":
		p, want := "ping", PongOK
		if scenario == "heartbeat" {
			p, want = "heartbeat", HeartbeatOK
		}
		c, err := dial(p, DialOptions{})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		m, err := c.Recv(ctx)
		if err != nil {
			return fail(fmt.Errorf("recv: %w", err))
		}
		if err := same(Message{Data: []byte(want)}, m); err != nil {
			return fail(err)
		}
		res.OK = true
		closeNormally(ctx, c)

	case "read-timeout":
		// hybi reads with short deadlines; the message comes late.
		c, err := dial("deadline", DialOptions{})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		time.Sleep(LateDelay)
		if err := echo(ctx, c, Message{Data: []byte(LateMessage)}, false); err != nil {
			return fail(err)
		}
		res.OK = true
		closeNormally(ctx, c)

	case "close-peer":
		c, err := dial("echo", DialOptions{})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		if err := echo(ctx, c, Message{Data: []byte("before close")}, false); err != nil {
			return fail(err)
		}
		if err := c.Close(ctx, PeerCloseCode, PeerCloseReason); err != nil {
			return fail(fmt.Errorf("close: %w", err))
		}
		_, err = c.Recv(ctx)
		code, reason, ok := CloseStatus(err)
		res.Code, res.Reason = code, reason
		if !ok {
			// Some libraries (gws) drop TCP right after their Close frame,
			// so no reply can be seen; hybi's side is checked by the test.
			res.Detail = fmt.Sprintf("no close reply seen: %v", err)
		}
		res.OK = true

	case "close-hybi":
		c, err := dial("close", DialOptions{})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		_, err = c.Recv(ctx)
		code, reason, ok := CloseStatus(err)
		if !ok {
			return fail(fmt.Errorf("want hybi's close frame, got %v", err))
		}
		res.Code, res.Reason, res.OK = code, reason, true

	case "subprotocol":
		c, err := dial("echo", DialOptions{Subprotocols: []string{"nope", Subprotocol}})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		res.Subprotocol = c.Subprotocol()
		if err := echo(ctx, c, Message{Data: []byte("with subprotocol")}, false); err != nil {
			return fail(err)
		}
		res.OK = true
		closeNormally(ctx, c)

	case "compression", "no-compression":
		if !lib.Deflate {
			res.Unsupported = true
			res.Detail = lib.Name + ": permessage-deflate not wired in this harness"
			return res
		}
		p := "echo-deflate"
		if scenario == "no-compression" {
			p = "echo"
		}
		c, err := dial(p, DialOptions{Deflate: true})
		if err != nil {
			return fail(err)
		}
		defer c.Abort()
		res.Extensions = c.Extensions()
		for range 3 { // context takeover: several messages
			if err := echo(ctx, c, Message{Data: Payload(false, DeflateSize)}, false); err != nil {
				return fail(err)
			}
		}
		res.OK = true
		closeNormally(ctx, c)

	case "reject":
		c, status, reason, err := lib.Dial(ctx, url("reject"), DialOptions{})
		if err == nil {
			c.Abort()
			return fail(errors.New("handshake succeeded, want it refused"))
		}
		res.Status, res.Detail, res.OK = status, strings.TrimSpace(reason+" "+err.Error()), true

	default:
		return fail(fmt.Errorf("unknown scenario %q", scenario))
	}
	return res
}

// echo sends m (in fragments if fragmented) and checks that the same
// message comes back.
func echo(ctx context.Context, c Conn, m Message, fragmented bool) error {
	send := c.Send
	if fragmented {
		send = c.SendFragmented
	}
	if err := send(ctx, m); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	got, err := c.Recv(ctx)
	if err != nil {
		return fmt.Errorf("recv: %w", err)
	}
	return same(m, got)
}

func same(want, got Message) error {
	if want.Binary != got.Binary {
		return fmt.Errorf("got binary=%v, want binary=%v", got.Binary, want.Binary)
	}
	if !bytes.Equal(want.Data, got.Data) {
		return fmt.Errorf("got %d bytes %.40q, want %d bytes %.40q", len(got.Data), got.Data, len(want.Data), want.Data)
	}
	return nil
}

// closeNormally starts the closing handshake with 1000 and waits (bounded
// by ctx) for the peer's reply.
func closeNormally(ctx context.Context, c Conn) {
	if c.Close(ctx, 1000, "") == nil {
		for {
			if _, err := c.Recv(ctx); err != nil {
				return
			}
		}
	}
}
