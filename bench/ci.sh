#!/usr/bin/env bash
# CI for the bench module: vet, tests, and a smoke run of the full benchmark
# command with tiny counts (seconds), proving that every row still runs.
set -euo pipefail
cd "$(dirname "$0")"
go vet ./...
go test ./...
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
go run ./cmd/benchall -quick -out "$out"
grep -q '^## Echo round trips' "$out"
grep -q '^## Many connections' "$out"
go run ./cmd/benchscale -quick -out "$out"
grep -q '^### Many busy connections' "$out"
grep -q '^| tcp-epoll |' "$out"
grep -q '^### One slow reader' "$out"
grep -q '^### Idle connections with the heartbeat on' "$out"
go run ./cmd/benchdeflate -quick -out "$out"
grep -q '^### permessage-deflate: memory per idle connection' "$out"
echo "bench: smoke run OK"
