'use strict';
// Node ws as the interop client of hybi: node client.js <base> <scenario>...
// connects to <base>/<path>?s=<scenario> for each scenario (see
// interop/peers/client.go for their meaning) and prints one JSON result per
// scenario: {"scenario","ok","error","detail","code","reason","subprotocol",
// "extensions","status"}.
const WebSocket = require('ws');
const { C, payload, parseEcho, sendFragmented } = require('./common');

const [base, ...scenarios] = process.argv.slice(2);

function connect(path, scenario, protocols) {
  return new WebSocket(`${base}/${path}?s=${encodeURIComponent(scenario)}`, protocols || [], {
    handshakeTimeout: 10000,
    maxPayload: 64 << 20,
  });
}

// run resolves with the scenario's result; every scenario is bounded.
function run(scenario) {
  return new Promise((resolve) => {
    const res = { scenario, ok: false };
    let ws;
    const done = (err) => {
      clearTimeout(timer);
      if (err) res.error = String(err);
      else res.ok = true;
      resolve(res);
    };
    const timer = setTimeout(() => {
      if (ws) ws.terminate();
      done(new Error('timeout'));
    }, C.scenarioTimeoutMs);
    const fail = (e) => {
      if (ws) ws.terminate();
      done(e);
    };
    // closeNormally closes with 1000 and finishes on the close event.
    const closeNormally = () => {
      ws.once('close', () => done());
      ws.close(1000);
    };
    const expect = (want, binary, next) => {
      ws.once('message', (data, isBinary) => {
        if (isBinary !== binary) return fail(new Error(`got binary=${isBinary}, want ${binary}`));
        if (!Buffer.from(data).equals(want)) return fail(new Error(`got ${data.length} bytes, want ${want.length}`));
        next();
      });
    };
    const on = (w) => {
      ws = w;
      ws.on('error', (e) => {
        if (!res.status) fail(e);
      });
    };

    const echo = parseEcho(scenario);
    if (echo) {
      on(connect('echo', scenario));
      const p = payload(echo.binary, echo.n);
      ws.on('open', () => {
        expect(p, echo.binary, closeNormally);
        ws.send(p, { binary: echo.binary });
      });
      return;
    }
    switch (scenario) {
      case 'send-fragmented': {
        on(connect('echo', scenario));
        const p = payload(false, C.fragmentedSize);
        ws.on('open', () => {
          expect(p, false, closeNormally);
          sendFragmented(ws, p, false);
        });
        return;
      }
      case 'utf8-fragmented': {
        on(connect('echo', scenario));
        const p = Buffer.from(C.utf8Unit.repeat(C.utf8Repeat));
        ws.on('open', () => {
          expect(p, false, closeNormally);
          sendFragmented(ws, p, false);
        });
        return;
      }
      case 'recv-fragmented':
        on(connect('fragments', scenario));
        expect(payload(false, C.fragmentedSize), false, closeNormally);
        return;
      case 'ping':
        on(connect('echo', scenario));
        ws.on('open', () => ws.ping(C.peerPing));
        ws.once('pong', (data) => {
          if (data.toString() !== C.peerPing) return fail(new Error(`pong payload ${data}, want ${C.peerPing}`));
          res.detail = 'pong echoed ' + C.peerPing;
          closeNormally();
        });
        return;
      case 'hybi-ping':
        on(connect('ping', scenario));
        expect(Buffer.from(C.pongOK), false, closeNormally);
        return;
      case 'read-timeout':
        // hybi reads with short deadlines; the message comes late.
        on(connect('deadline', scenario));
        ws.on('open', () => {
          setTimeout(() => {
            expect(Buffer.from(C.lateMessage), false, closeNormally);
            ws.send(C.lateMessage);
          }, C.lateDelayMs);
        });
        return;
      case 'heartbeat':
        // ws answers hybi's heartbeat Pings by itself.
        on(connect('heartbeat', scenario));
        expect(Buffer.from('heartbeat-ok'), false, closeNormally);
        return;
      case 'close-peer':
        on(connect('echo', scenario));
        ws.on('open', () => {
          expect(Buffer.from('before close'), false, () => {
            ws.once('close', (code, reason) => {
              res.code = code;
              res.reason = reason.toString();
              done();
            });
            ws.close(C.peerCloseCode, C.peerCloseReason);
          });
          ws.send('before close');
        });
        return;
      case 'close-hybi':
        on(connect('close', scenario));
        ws.once('close', (code, reason) => {
          res.code = code;
          res.reason = reason.toString();
          done();
        });
        return;
      case 'subprotocol':
        on(connect('echo', scenario, ['nope', C.subprotocol]));
        ws.on('open', () => {
          res.subprotocol = ws.protocol;
          expect(Buffer.from('with subprotocol'), false, closeNormally);
          ws.send('with subprotocol');
        });
        return;
      case 'compression':
      case 'no-compression': {
        // ws offers permessage-deflate by default.
        on(connect(scenario === 'compression' ? 'echo-deflate' : 'echo', scenario));
        const p = payload(false, C.deflateSize);
        ws.on('open', () => {
          res.extensions = ws.extensions;
          let left = 3;
          const round = () => {
            if (left-- === 0) return closeNormally();
            expect(p, false, round);
            ws.send(p, { binary: false });
          };
          round();
        });
        return;
      }
      case 'reject':
        on(connect('reject', scenario));
        ws.on('unexpected-response', (req, resp) => {
          res.status = resp.statusCode;
          res.headers = Object.fromEntries(Object.entries(resp.headers).map(([k, v]) => [k, String(v)]));
          let body = '';
          resp.on('data', (d) => (body += d));
          resp.on('end', () => {
            res.detail = `${resp.statusCode} ${resp.statusMessage}: ${body}`;
            req.destroy();
            done();
          });
        });
        ws.on('open', () => fail(new Error('handshake succeeded, want it refused')));
        return;
      default:
        done(new Error(`unknown scenario ${scenario}`));
    }
  });
}

(async () => {
  for (const s of scenarios) {
    process.stdout.write(JSON.stringify(await run(s)) + '\n');
  }
  process.exit(0);
})();
