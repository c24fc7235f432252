"""The scenario protocol shared with the Go peers (interop/peers/peers.go)."""

import json
import re
import sys

SUBPROTOCOL = "interop.v1"
PEER_PING = b"peer-ping"
HYBI_PING = b"hybi-ping"
PONG_OK = "pong-ok"
REJECT_BODY = "interop: rejected"
PEER_CLOSE_CODE, PEER_CLOSE_REASON = 4001, "peer-bye"
HYBI_CLOSE_CODE, HYBI_CLOSE_REASON = 4000, "hybi-bye"
FRAGMENTED_SIZE = 10000
FRAGMENT_SIZE = 1000
DEFLATE_SIZE = 64 << 10
MAX_SIZE = 64 << 20
SCENARIO_TIMEOUT = 20.0
LATE_MESSAGE, LATE_DELAY = "late", 0.3
# 2-, 3- and 4-byte code points, 9 bytes a unit: FRAGMENT_SIZE frames cut
# code points in the middle.
UTF8_TEXT = "é€😀" * 1111


def payload(binary, n):
    """The deterministic payload every peer uses: text is 'a'..'z' repeated,
    binary is byte(i*31+7)."""
    if binary:
        return bytes((i * 31 + 7) & 0xFF for i in range(n))
    return "".join(chr(97 + i % 26) for i in range(n))


def parse_echo(s):
    m = re.fullmatch(r"echo-(text|binary)-(\d+)", s)
    return (m.group(1) == "binary", int(m.group(2))) if m else None


def chunks(data, size=FRAGMENT_SIZE):
    return [data[i : i + size] for i in range(0, len(data), size)]


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
