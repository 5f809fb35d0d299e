#!/usr/bin/env bash
# Records the traffic that specgate's inference golden tests read. For each
# scenario of internal/apiserver/cmd/apitraffic (todos, users, reports,
# articles, misc, all), tcpdump captures loopback on a free port while the
# scenario's client talks to the in-memory API server over real TCP, and the
# capture becomes infer/testdata/traffic/<scenario>.pcap.
#
# The pcaps are committed: the tests then run on bytes captured from a real
# server, on any machine, without root or tcpdump, and give the same results
# every time. Run this again (as root; SCENARIOS="todos misc" for some) only
# when the server or a scenario changes, and review the goldens that change.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=infer/testdata/traffic
read -r -a scenarios <<<"${SCENARIOS:-todos users reports articles misc all}"

if [ "$(id -u)" != 0 ]; then
	echo "record-traffic: tcpdump on lo needs root" >&2
	exit 2
fi
command -v tcpdump >/dev/null || { echo "record-traffic: tcpdump is not installed" >&2; exit 2; }

tmp=$(mktemp -d)
tcpdump_pid=""
cleanup() {
	if [ -n "$tcpdump_pid" ]; then
		kill -INT "$tcpdump_pid" 2>/dev/null || true
		wait "$tcpdump_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

$GO build -o "$tmp/apitraffic" ./internal/apiserver/cmd/apitraffic
mkdir -p "$out"

# free_port prints a port below the ephemeral range that no socket uses, so
# that the capture filter matches the scenario's connections only.
free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 12000))
		if [ -z "$(ss -Htan "( sport = :$port or dport = :$port )")" ]; then
			echo "$port"
			return
		fi
	done
	echo "record-traffic: no free port found" >&2
	return 1
}

for scenario in "${scenarios[@]}"; do
	port=$(free_port)
	pcap="$tmp/$scenario.pcap"
	: >"$tmp/tcpdump.log"
	tcpdump -i lo -s 0 -U -Z root -w "$pcap" "tcp port $port" 2>"$tmp/tcpdump.log" &
	tcpdump_pid=$!
	for _ in $(seq 100); do
		grep -q "listening on" "$tmp/tcpdump.log" && break
		kill -0 "$tcpdump_pid" 2>/dev/null || { cat "$tmp/tcpdump.log" >&2; exit 1; }
		sleep 0.1
	done
	grep -q "listening on" "$tmp/tcpdump.log" || { echo "record-traffic: tcpdump did not start" >&2; exit 1; }

	"$tmp/apitraffic" -addr "127.0.0.1:$port" -scenario "$scenario"
	sleep 1
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid"
	tcpdump_pid=""
	grep -E "packets? (captured|dropped by kernel)" "$tmp/tcpdump.log" | sed "s/^/  $scenario: /" >&2
	mv "$pcap" "$out/$scenario.pcap"
done
ls -l "$out"
