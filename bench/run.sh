#!/usr/bin/env bash
# Full benchmark run (benchall about 4 minutes, benchscale about 9, on a 2-core machine): writes
# docs/performance.md. Installs the pinned benchstat when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v benchstat >/dev/null && [ ! -x "$(go env GOPATH)/bin/benchstat" ]; then
	go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
fi
BENCH_VIA="bash bench/run.sh" go run ./cmd/benchall -out ../docs/performance.md "$@"
# The scale rows (issue 18): their own section of the same file, spliced in
# after benchall rewrote it (about 9 minutes on 2 cores).
go run ./cmd/benchscale -out ../docs/performance.md
# Memory per idle connection for each negotiated permessage-deflate mode
# (issue 14): 10,000 pairs per mode, two rounds, about 5 minutes.
go run ./cmd/benchdeflate -out ../docs/performance.md
