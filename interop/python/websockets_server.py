"""Python websockets (Debian python3-websockets, asyncio API of 10.x) as the
interop server hybi dials: the paths of interop/peers/server.go. Prints
{"listening": port}, then one JSON event per connection end."""

import asyncio
import http
import urllib.parse

import websockets

from common import (FRAGMENTED_SIZE, LATE_DELAY, LATE_MESSAGE, MAX_SIZE, PEER_CLOSE_CODE,
                    PEER_CLOSE_REASON, PEER_PING, PONG_OK, REJECT_BODY, SCENARIO_TIMEOUT,
                    SUBPROTOCOL, chunks, emit, payload)


def route(path):
    u = urllib.parse.urlsplit(path)
    return u.path.rsplit("/", 1)[-1], urllib.parse.parse_qs(u.query).get("s", [""])[0]


async def process_request(path, headers):
    if route(path)[0] == "reject":
        return http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain")], REJECT_BODY.encode()
    return None


async def handler(ws, path):
    what, scenario = route(path)
    try:
        if what == "close":
            await ws.close(PEER_CLOSE_CODE, PEER_CLOSE_REASON)
        elif what == "ping":
            waiter = await ws.ping(PEER_PING)
            # websockets completes the waiter only for a Pong carrying the
            # same payload.
            await asyncio.wait_for(waiter, SCENARIO_TIMEOUT)
            await ws.send(PONG_OK)
        elif what == "fragments":
            await ws.send(chunks(payload(False, FRAGMENTED_SIZE)))
        elif what == "deadline":
            await asyncio.sleep(LATE_DELAY)
            await ws.send(LATE_MESSAGE)
        async for msg in ws:
            if what in ("echo", "fragments", "deadline"):
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    except Exception as e:  # reported, never hidden
        emit({"scenario": scenario, "event": "error", "detail": repr(e)})
    await ws.wait_closed()
    emit({"scenario": scenario, "event": "close", "code": ws.close_code or 0, "reason": ws.close_reason or ""})


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL],
                                process_request=process_request, max_size=MAX_SIZE,
                                compression="deflate") as server:
        emit({"listening": server.sockets[0].getsockname()[1]})
        await asyncio.Future()


asyncio.run(main())
