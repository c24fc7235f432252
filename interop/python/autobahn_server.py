"""Python autobahn (Debian python3-autobahn, asyncio flavour) as the interop
server hybi dials: the paths of interop/peers/server.go. Prints
{"listening": port}, then one JSON event per connection end."""

import asyncio

from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept
from autobahn.websocket.types import ConnectionDeny

from common import (FRAGMENTED_SIZE, LATE_DELAY, LATE_MESSAGE, MAX_SIZE, PEER_CLOSE_CODE,
                    PEER_CLOSE_REASON, PEER_PING, PONG_OK, REJECT_BODY, SUBPROTOCOL, chunks, emit,
                    payload)


class Server(WebSocketServerProtocol):
    def onConnect(self, request):
        self.what = request.path.rsplit("/", 1)[-1]
        self.scenario = request.params.get("s", [""])[0]
        if self.what == "reject":
            raise ConnectionDeny(ConnectionDeny.FORBIDDEN, REJECT_BODY)
        return SUBPROTOCOL if SUBPROTOCOL in request.protocols else None

    def onOpen(self):
        if self.what == "close":
            self.sendClose(PEER_CLOSE_CODE, PEER_CLOSE_REASON)
        elif self.what == "ping":
            self.sendPing(PEER_PING)
        elif self.what == "deadline":
            asyncio.get_running_loop().call_later(LATE_DELAY, self.sendMessage, LATE_MESSAGE.encode())
        elif self.what == "fragments":
            # The frame-level API: one frame per beginMessageFrame, then
            # endMessage sends an empty final continuation frame.
            self.beginMessage(isBinary=False, doNotCompress=True)
            for i, c in enumerate(chunks(payload(False, FRAGMENTED_SIZE).encode())):
                self.beginMessageFrame(len(c))
                self.sendMessageFrameData(c)
                if i == 0:
                    self.sendPing(b"mid-message")
            self.endMessage()

    def onPong(self, data):
        if self.what == "ping":
            self.sendMessage(PONG_OK.encode() if data == PEER_PING else b"pong-mismatch: " + data)

    def onMessage(self, data, isBinary):
        if self.what in ("echo", "fragments", "deadline"):
            self.sendMessage(data, isBinary)

    def onClose(self, wasClean, code, reason):
        if getattr(self, "what", "") == "reject":
            return
        emit({"scenario": getattr(self, "scenario", ""), "event": "close",
              "code": self.remoteCloseCode or 0, "reason": self.remoteCloseReason or "",
              "detail": f"wasClean={wasClean}"})


def accept(offers):
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)
    return None


async def main():
    factory = WebSocketServerFactory()
    factory.protocol = Server
    factory.setProtocolOptions(maxMessagePayloadSize=MAX_SIZE, perMessageCompressionAccept=accept)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0)
    emit({"listening": server.sockets[0].getsockname()[1]})
    await asyncio.Future()


asyncio.run(main())
