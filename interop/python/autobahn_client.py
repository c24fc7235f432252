"""Python autobahn (Debian python3-autobahn, asyncio flavour) as the interop
client of hybi: autobahn_client.py <base> <scenario>... prints one JSON
result per scenario (see interop/peers/client.go)."""

import asyncio
import re
import sys
import urllib.parse

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateResponseAccept

from common import (DEFLATE_SIZE, FRAGMENTED_SIZE, LATE_DELAY, LATE_MESSAGE, MAX_SIZE,
                    PEER_CLOSE_CODE, PEER_CLOSE_REASON, PEER_PING, PONG_OK, SCENARIO_TIMEOUT,
                    SUBPROTOCOL, UTF8_TEXT, chunks, emit, parse_echo, payload)

BASE = sys.argv[1]


class Client(WebSocketClientProtocol):
    """Runs self.factory.scenario; resolves self.factory.done with the result."""

    def onConnect(self, response):
        self.res["subprotocol"] = response.protocol or ""
        self.res["extensions"] = response.headers.get("sec-websocket-extensions", "")

    def onOpen(self):
        s = self.scenario
        # self.expect: the messages still expected, in order.
        echo = parse_echo(s)
        if echo:
            p = payload(*echo)
            p = p if echo[0] else p.encode()
            self.expect = [(p, echo[0])]
            self.sendMessage(p, echo[0])
        elif s in ("send-fragmented", "utf8-fragmented"):
            p = payload(False, FRAGMENTED_SIZE).encode() if s == "send-fragmented" else UTF8_TEXT.encode()
            self.expect = [(p, False)]
            self.beginMessage(isBinary=False, doNotCompress=True)
            for i, c in enumerate(chunks(p)):
                self.beginMessageFrame(len(c))
                self.sendMessageFrameData(c)
                if i == 0:
                    self.sendPing(b"mid-message")
            self.endMessage()
        elif s == "recv-fragmented":
            self.expect = [(payload(False, FRAGMENTED_SIZE).encode(), False)]
        elif s == "ping":
            self.sendPing(PEER_PING)
        elif s == "hybi-ping":
            self.expect = [(PONG_OK.encode(), False)]
        elif s == "read-timeout":
            # hybi reads with short deadlines; the message comes late.
            self.expect = [(LATE_MESSAGE.encode(), False)]
            asyncio.get_running_loop().call_later(LATE_DELAY, self.sendMessage, LATE_MESSAGE.encode())
        elif s == "heartbeat":
            self.expect = [(b"heartbeat-ok", False)]
        elif s == "close-peer":
            self.expect = [(b"before close", False)]
            self.sendMessage(b"before close")
        elif s == "subprotocol":
            self.expect = [(b"with subprotocol", False)]
            self.sendMessage(b"with subprotocol")
        elif s in ("compression", "no-compression"):
            p = payload(False, DEFLATE_SIZE).encode()
            self.expect = [(p, False)] * 3
            self.sendMessage(p)

    def onPong(self, data):
        if self.scenario == "ping":
            if data != PEER_PING:
                self.res["error"] = f"pong payload {data!r}, want {PEER_PING!r}"
            else:
                self.res["detail"] = "pong echoed " + PEER_PING.decode()
            self.sendClose(1000)

    def onMessage(self, data, isBinary):
        if not self.expect:
            self.res["error"] = f"unexpected message of {len(data)} bytes"
            self.sendClose(1000)
            return
        want, binary = self.expect.pop(0)
        if data != want or isBinary != binary:
            self.res["error"] = f"got {len(data)} bytes binary={isBinary}, want {len(want)} binary={binary}"
        if self.expect and self.scenario in ("compression", "no-compression"):
            self.sendMessage(self.expect[0][0])
        elif not self.expect:
            if self.scenario == "close-peer":
                self.sendClose(PEER_CLOSE_CODE, PEER_CLOSE_REASON)
            else:
                self.sendClose(1000)

    def onClose(self, wasClean, code, reason):
        r = self.res
        if self.scenario in ("close-peer", "close-hybi"):
            r["code"], r["reason"] = self.remoteCloseCode or 0, self.remoteCloseReason or ""
        if self.scenario == "reject":
            m = re.search(r"\b([1-5]\d\d)\b", reason or "")
            r["status"], r["detail"] = (int(m.group(1)) if m else 0), reason
        elif not wasClean and "error" not in r:
            r["error"] = f"unclean close: {code} {reason}"
        if self.expect and "error" not in r:
            r["error"] = f"{len(self.expect)} messages never arrived"
        if not self.done.done():
            self.done.set_result(r)


PATHS = {"recv-fragmented": "fragments", "read-timeout": "deadline", "hybi-ping": "ping", "heartbeat": "heartbeat", "close-hybi": "close",
         "compression": "echo-deflate", "reject": "reject"}


async def run(scenario):
    res = {"scenario": scenario}
    url = f"{BASE}/{PATHS.get(scenario, 'echo')}?s={scenario}"
    protocols = ["nope", SUBPROTOCOL] if scenario == "subprotocol" else None
    factory = WebSocketClientFactory(url, protocols=protocols)
    opts = {"maxMessagePayloadSize": MAX_SIZE}
    if scenario in ("compression", "no-compression"):
        opts["perMessageCompressionOffers"] = [PerMessageDeflateOffer()]
        opts["perMessageCompressionAccept"] = lambda resp: PerMessageDeflateResponseAccept(resp)
    factory.setProtocolOptions(**opts)
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def make():
        p = Client()
        p.factory, p.scenario, p.res, p.done, p.expect = factory, scenario, res, done, []
        return p

    u = urllib.parse.urlsplit(url)
    transport, _ = await loop.create_connection(make, u.hostname, u.port)
    try:
        await asyncio.wait_for(done, SCENARIO_TIMEOUT)
    finally:
        transport.close()
    if scenario == "reject":
        if not res.get("status"):
            res["error"] = "handshake not refused with a status: " + str(res.get("detail"))
    res["ok"] = "error" not in res
    return res


async def main():
    for s in sys.argv[2:]:
        try:
            res = await run(s)
        except Exception as e:
            res = {"scenario": s, "ok": False, "error": repr(e)}
        emit(res)


if __name__ == "__main__": asyncio.run(main())
