"""Python websockets (Debian python3-websockets, asyncio API of 10.x) as the
interop client of hybi: websockets_client.py <base> <scenario>... prints one
JSON result per scenario (see interop/peers/client.go)."""

import asyncio
import sys

import websockets

from common import (DEFLATE_SIZE, FRAGMENTED_SIZE, LATE_DELAY, LATE_MESSAGE, MAX_SIZE,
                    PEER_CLOSE_CODE, PEER_CLOSE_REASON, PEER_PING, PONG_OK, SCENARIO_TIMEOUT,
                    SUBPROTOCOL, UTF8_TEXT, chunks, emit, parse_echo, payload)

BASE = sys.argv[1]


def connect(path, scenario, **kw):
    kw.setdefault("compression", None)
    return websockets.connect(f"{BASE}/{path}?s={scenario}", max_size=MAX_SIZE, open_timeout=10, **kw)


async def expect(ws, want):
    got = await ws.recv()
    if type(got) is not type(want) or got != want:
        raise AssertionError(f"got {type(got).__name__} of {len(got)}, want {type(want).__name__} of {len(want)}")


async def run(scenario, res):
    echo = parse_echo(scenario)
    if echo:
        async with connect("echo", scenario) as ws:
            p = payload(*echo)
            await ws.send(p)
            await expect(ws, p)
        return
    if scenario == "send-fragmented":
        async with connect("echo", scenario) as ws:
            p = payload(False, FRAGMENTED_SIZE)
            await ws.send(chunks(p))  # an iterable is sent as fragments
            await expect(ws, p)
    elif scenario == "utf8-fragmented":
        async with connect("echo", scenario) as ws:
            # websockets fragments a text message only on str chunks, so its
            # frames end on code point boundaries (333 characters a frame).
            await ws.send(chunks(UTF8_TEXT, 333))
            await expect(ws, UTF8_TEXT)
            res["detail"] = "websockets cuts text frames between code points"
    elif scenario == "recv-fragmented":
        async with connect("fragments", scenario) as ws:
            await expect(ws, payload(False, FRAGMENTED_SIZE))
    elif scenario == "ping":
        async with connect("echo", scenario) as ws:
            waiter = await ws.ping(PEER_PING)
            await asyncio.wait_for(waiter, SCENARIO_TIMEOUT)  # completes only on the matching Pong
            res["detail"] = "pong echoed " + PEER_PING.decode()
    elif scenario == "hybi-ping":
        async with connect("ping", scenario) as ws:
            await expect(ws, PONG_OK)
    elif scenario == "read-timeout":
        async with connect("deadline", scenario) as ws:
            await asyncio.sleep(LATE_DELAY)  # hybi reads with short deadlines meanwhile
            await ws.send(LATE_MESSAGE)
            await expect(ws, LATE_MESSAGE)
    elif scenario == "heartbeat":
        async with connect("heartbeat", scenario) as ws:
            await expect(ws, "heartbeat-ok")
    elif scenario == "close-peer":
        ws = await connect("echo", scenario)
        await ws.send("before close")
        await expect(ws, "before close")
        await ws.close(PEER_CLOSE_CODE, PEER_CLOSE_REASON)
        res["code"], res["reason"] = ws.close_code, ws.close_reason
    elif scenario == "close-hybi":
        ws = await connect("close", scenario)
        try:
            await ws.recv()
            raise AssertionError("got a message, want hybi's Close")
        except websockets.ConnectionClosed as e:
            res["code"], res["reason"] = e.code, e.reason
    elif scenario == "subprotocol":
        async with connect("echo", scenario, subprotocols=["nope", SUBPROTOCOL]) as ws:
            res["subprotocol"] = ws.subprotocol or ""
            await ws.send("with subprotocol")
            await expect(ws, "with subprotocol")
    elif scenario in ("compression", "no-compression"):
        path = "echo-deflate" if scenario == "compression" else "echo"
        async with connect(path, scenario, compression="deflate") as ws:
            res["extensions"] = ws.response_headers.get("Sec-WebSocket-Extensions", "")
            p = payload(False, DEFLATE_SIZE)
            for _ in range(3):
                await ws.send(p)
                await expect(ws, p)
    elif scenario == "reject":
        try:
            ws = await connect("reject", scenario)
            await ws.close()
            raise AssertionError("handshake succeeded, want it refused")
        except websockets.InvalidStatusCode as e:
            res["status"], res["detail"] = e.status_code, str(e)
            res["headers"] = {k.lower(): v for k, v in e.headers.raw_items()}
    else:
        raise AssertionError(f"unknown scenario {scenario}")


async def main():
    for s in sys.argv[2:]:
        res = {"scenario": s, "ok": False}
        try:
            await asyncio.wait_for(run(s, res), SCENARIO_TIMEOUT)
            res["ok"] = True
        except Exception as e:
            res["error"] = repr(e)
        emit(res)


asyncio.run(main())
