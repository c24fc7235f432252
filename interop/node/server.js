'use strict';
// Node ws as the interop server hybi dials: the paths of
// interop/peers/server.go. Prints {"listening": port} first, then one JSON
// event per connection end: {"scenario","event":"close","code","reason"}.
const http = require('http');
const { WebSocketServer } = require('ws');
const { C, payload, sendFragmented } = require('./common');

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: true,
  maxPayload: 64 << 20,
  handleProtocols: (protocols) => (protocols.has(C.subprotocol) ? C.subprotocol : false),
});

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('websocket only');
});

server.on('upgrade', (req, socket, head) => {
  const u = new URL(req.url, 'http://x');
  const path = u.pathname.split('/').pop();
  if (path === 'reject') {
    socket.end(
      'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n' +
        `Content-Length: ${Buffer.byteLength(C.rejectBody)}\r\n\r\n${C.rejectBody}`,
    );
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => serve(ws, path, u.searchParams.get('s') || ''));
});

function serve(ws, path, scenario) {
  ws.on('close', (code, reason) => out({ scenario, event: 'close', code, reason: reason.toString() }));
  ws.on('error', (err) => out({ scenario, event: 'error', detail: String(err) }));
  switch (path) {
    case 'close':
      ws.close(C.peerCloseCode, C.peerCloseReason);
      return;
    case 'ping':
      ws.on('pong', (data) => {
        const p = data.toString();
        out({ scenario, event: 'pong', detail: p });
        ws.send(p === C.peerPing ? C.pongOK : 'pong-mismatch: ' + p);
      });
      ws.ping(C.peerPing);
      return;
    case 'fragments':
      sendFragmented(ws, payload(false, C.fragmentedSize), false);
      break;
    case 'deadline':
      setTimeout(() => ws.send(C.lateMessage), C.lateDelayMs);
      break;
  }
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

server.listen(0, '127.0.0.1', () => out({ listening: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
