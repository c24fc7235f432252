'use strict';
// The scenario protocol shared with the Go peers (interop/peers/peers.go).

const C = {
  subprotocol: 'interop.v1',
  peerPing: 'peer-ping',
  hybiPing: 'hybi-ping',
  pongOK: 'pong-ok',
  rejectBody: 'interop: rejected',
  peerCloseCode: 4001,
  peerCloseReason: 'peer-bye',
  hybiCloseCode: 4000,
  hybiCloseReason: 'hybi-bye',
  fragmentedSize: 10000,
  fragmentSize: 1000,
  deflateSize: 64 << 10,
  sizes: [0, 125, 126, 64 << 10, 1 << 20],
  scenarioTimeoutMs: 20000,
  lateMessage: 'late',
  lateDelayMs: 300,
  // 2-, 3- and 4-byte code points, 9 bytes a unit: fragmentSize frames cut
  // code points in the middle.
  utf8Unit: 'é€😀',
  utf8Repeat: 1111,
};

// payload returns the deterministic payload every peer uses: text is
// 'a'..'z' repeated, binary is byte(i*31+7).
function payload(binary, n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = binary ? (i * 31 + 7) & 0xff : 97 + (i % 26);
  return b;
}

function parseEcho(s) {
  const m = /^echo-(text|binary)-(\d+)$/.exec(s);
  return m ? { binary: m[1] === 'binary', n: Number(m[2]) } : null;
}

// sendFragmented sends data as one message of fragmentSize frames, with a
// Ping after the first frame (RFC 6455 §5.4 allows control frames there).
function sendFragmented(ws, data, binary) {
  for (let off = 0; off < data.length || off === 0; off += C.fragmentSize) {
    const chunk = data.subarray(off, off + C.fragmentSize);
    const fin = off + C.fragmentSize >= data.length;
    ws.send(chunk, { binary, fin, compress: false });
    if (off === 0 && !fin) ws.ping('mid-message');
    if (fin) break;
  }
}

module.exports = { C, payload, parseEcho, sendFragmented };
