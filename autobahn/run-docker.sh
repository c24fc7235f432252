#!/usr/bin/env bash
# Runs the official Autobahn testsuite (Docker image crossbario/autobahn-testsuite)
# against hybi in both roles, then the report gate:
#
#   1. fuzzingclient: the testsuite tests `wsx serve -compress` (hybi's server),
#      reports in reports/servers/;
#   2. fuzzingserver: `wsx autobahn-client` (hybi's client) runs every case
#      against the testsuite, reports in reports/clients/;
#   3. go run ./autobahn/cmd/gate reports/ fails unless every case is OK or
#      INFORMATIONAL.
#
# Usage (from anywhere):  bash autobahn/run-docker.sh
# Environment: IMAGE (default crossbario/autobahn-testsuite), PORT (9001),
# REPORTS (default ./reports, relative to the repository root).
#
# Where Docker is not available it prints "skipped: docker not available" and
# exits 0, so CI machines without Docker are not broken by it.
set -euo pipefail

if ! docker info >/dev/null 2>&1; then
	echo "skipped: docker not available"
	exit 0
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${IMAGE:-crossbario/autobahn-testsuite}
PORT=${PORT:-9001}
REPORTS=${REPORTS:-$ROOT/reports}
CONFIG=$ROOT/autobahn/config
WSX=$(mktemp -d)/wsx
SERVER_PID=
CONTAINER=

cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
	[ -n "$CONTAINER" ] && docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
	rm -rf "$(dirname "$WSX")"
}
trap cleanup EXIT INT TERM

wait_port() {
	i=0
	until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 120 ]; then
			echo "timed out waiting for 127.0.0.1:$1" >&2
			exit 1
		fi
		sleep 0.5
	done
}

cd "$ROOT"
go build -o "$WSX" ./cmd/wsx
mkdir -p "$REPORTS"
docker pull "$IMAGE" >/dev/null

echo "== fuzzingclient: the testsuite tests hybi's server (wsx serve -compress)"
"$WSX" serve -addr "127.0.0.1:$PORT" -compress &
SERVER_PID=$!
wait_port "$PORT"
docker run --rm --network host \
	-v "$CONFIG:/config:ro" -v "$REPORTS:/reports" -w / \
	"$IMAGE" wstest -m fuzzingclient -s /config/fuzzingclient.json
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

echo "== fuzzingserver: hybi's client (wsx autobahn-client) tested by the testsuite"
CONTAINER=$(docker run -d --network host \
	-v "$CONFIG:/config:ro" -v "$REPORTS:/reports" -w / \
	"$IMAGE" wstest -m fuzzingserver -s /config/fuzzingserver.json)
wait_port "$PORT"
"$WSX" autobahn-client -url "ws://127.0.0.1:$PORT" -agent hybi
docker rm -f "$CONTAINER" >/dev/null
CONTAINER=

echo "== gate"
go run ./autobahn/cmd/gate "$REPORTS"
