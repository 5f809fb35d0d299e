#!/usr/bin/env bash
# make bench: Go benchmarks of the hot paths, then specgate against tshark and
# a bare gopacket decode loop on the same generated pcap, and live loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
echo "== go test -bench (hot paths)"
$GO test -run '^$' -bench . -benchmem -benchtime 2s ./capture/... ./infer/... | grep -E '^(Benchmark|ok|PASS|goos|cpu)' || true
echo
$GO run ./internal/bench "$@"
