#!/usr/bin/env bash
# interop CI: installs every peer, then vets and runs the interop matrix
# (hybi against gorilla, coder, gobwas, gws, Node ws, Python websockets and
# autobahn, and headless Chromium; hybi serving both with a goroutine per
# connection and with a websocket.Loop). A peer that cannot be installed or
# started fails the run; nothing is skipped.
#
#   bash interop/ci.sh                      # from the repository root
#   INTEROP_MATRIX=/tmp/m.md bash interop/ci.sh   # keep the matrix there
set -euo pipefail
cd "$(dirname "$0")"

export PATH="$PATH:/usr/local/go/bin"
step() { printf '\n==> %s\n' "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }

step "system packages: chromium, python3-websockets, python3-autobahn"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
pkgs=(chromium python3-websockets python3-autobahn)
# Node from Debian only when none is installed (a NodeSource nodejs
# already ships npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then pkgs+=(nodejs npm); fi
run $SUDO apt-get update
run $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"

step "check the peers can start"
run /usr/bin/chromium --version
run /usr/bin/python3 -c 'import websockets, autobahn; print("websockets", websockets.__version__, "autobahn", autobahn.__version__)'
run node --version

step "Node's ws, pinned in node/package-lock.json"
(cd node && run npm ci --no-audit --no-fund)
run node -e 'console.log("ws", require("./node/node_modules/ws/package.json").version)'

step "go vet and the interop matrix"
export INTEROP_MATRIX="${INTEROP_MATRIX:-$(mktemp)}"
run go mod download
run go vet ./...
STATICCHECK_VERSION=v0.8.2
export PATH="$PATH:$(go env GOPATH)/bin"
if ! command -v staticcheck >/dev/null || ! staticcheck -version | grep -q "${STATICCHECK_VERSION#v}"; then
	run go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
run staticcheck ./...
run go test -count=1 -timeout 10m ./...

step "the matrix (docs/interop.md explains it)"
cat "$INTEROP_MATRIX"

step "the same under the race detector (the matrix file is kept from the run above)"
run env INTEROP_MATRIX= go test -race -count=1 -timeout 10m ./...
