#!/usr/bin/env bash
# The specgate demo: run the demo system (internal/demo: a todo service that
# reports every write to a statistics service) and its integration test, and
# capture every HTTP exchange, passively, on loopback; then infer an OpenAPI
# document per service from what was captured.
#
# Live capture needs CAP_NET_RAW (root, or sudo without a password); without
# it, or with DEMO_REPLAY=1, the test still runs, and specgate reads
# testdata/demo/demo.pcap, which tcpdump recorded from this same system.
# DEMO_RECORD=1 (as root, with tcpdump) records that file again, then
# replays it. The todo service keeps its todos in memory, or in Redis with
# REDIS_URL=redis://host:port/db. DEMO_SEED=N repeats a run's test data.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
dir=${DEMO_DIR:-.demo}
port=${DEMO_PORT:-18089}
stats_port=${DEMO_STATS_PORT:-18090}
todo_url="http://127.0.0.1:$port"
stats_url="http://127.0.0.1:$stats_port"
mkdir -p "$dir"
rm -rf "$dir/specs" "$dir/traffic.har" "$dir/stats.json"

echo "==> building specgate and the demo system"
CGO_ENABLED=0 $GO build -trimpath -o "$dir/specgate" ./cmd/specgate
$GO build -o "$dir/" ./internal/demo/cmd/todo ./internal/demo/cmd/stats ./internal/demo/cmd/client

pids=()
cleanup() {
	for pid in ${pids[@]+"${pids[@]}"}; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in ${pids[@]+"${pids[@]}"}; do
		wait "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT

# start NAME ARGS... runs a service in the background and waits until it
# listens; a service that exits (a port in use) ends the demo with its log.
start() {
	local name=$1
	shift
	"$dir/$name" "$@" 2>"$dir/$name.log" &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		grep -q "listening on" "$dir/$name.log" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "demo: the $name service did not start:" >&2
			cat "$dir/$name.log" >&2
			exit 1
		fi
		sleep 0.05
	done
	echo "demo: the $name service did not start within 5s" >&2
	exit 1
}

store="in memory"
if [ -n "${REDIS_URL:-}" ]; then
	store="Redis at $REDIS_URL"
fi
echo "==> starting the statistics service ($stats_url) and the todo service v1 ($todo_url, $store)"
start stats -addr "127.0.0.1:$stats_port"
start todo -addr "127.0.0.1:$port" -version v1 -stats "$stats_url"

client=("$dir/client" -todo "$todo_url" -stats "$stats_url" -version v1 ${DEMO_SEED:+-seed "$DEMO_SEED"})
pcap=testdata/demo/demo.pcap
filter="tcp port $port or tcp port $stats_port"

if [ -n "${DEMO_RECORD:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "demo: DEMO_RECORD needs root (tcpdump on lo)" >&2; exit 2; }
	command -v tcpdump >/dev/null || { echo "demo: DEMO_RECORD needs tcpdump" >&2; exit 2; }
	echo "==> tcpdump -i lo -w $pcap '$filter', while the test runs"
	tcpdump -i lo -s 0 -U -Z root -w "$dir/demo.pcap" "$filter" 2>"$dir/tcpdump.log" &
	tcpdump_pid=$!
	pids+=("$tcpdump_pid")
	for _ in $(seq 100); do
		grep -q "listening on" "$dir/tcpdump.log" && break
		sleep 0.05
	done
	grep -q "listening on" "$dir/tcpdump.log" || { cat "$dir/tcpdump.log" >&2; exit 1; }
	"${client[@]}"
	sleep 1
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	grep -E "packets? (captured|dropped by kernel)" "$dir/tcpdump.log" | sed 's/^/    /'
	mv "$dir/demo.pcap" "$pcap"
	DEMO_REPLAY=1
fi

sudo=""
if [ "$(id -u)" != 0 ] && sudo -n true 2>/dev/null; then
	sudo="sudo -n"
fi
if [ -z "${DEMO_REPLAY:-}" ] && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
	echo "==> specgate capture -i lo -f '$filter' -w $dir/traffic.har -- client"
	$sudo "$dir/specgate" capture -i lo -f "$filter" -w "$dir/traffic.har" \
		--stats-json "$dir/stats.json" -- "${client[@]}"
	if [ -n "$sudo" ]; then
		$sudo chown "$(id -u):$(id -g)" "$dir/traffic.har" "$dir/stats.json"
	fi
else
	if [ -n "${DEMO_RECORD:-}" ]; then
		echo "==> specgate capture -r $pcap, just recorded"
	else
		if [ -n "${DEMO_REPLAY:-}" ]; then
			echo "==> DEMO_REPLAY is set: running the test, then replaying $pcap,"
		else
			echo "==> live capture needs CAP_NET_RAW (root or sudo); running the test, then replaying"
			echo "    $pcap,"
		fi
		echo "    which tcpdump recorded from this same system"
		"${client[@]}"
	fi
	"$dir/specgate" capture -r "$pcap" -w "$dir/traffic.har" --stats-json "$dir/stats.json"
fi

echo
echo "==> what specgate saw ($dir/traffic.har):"
grep -E '^ +"(method|url|status)": ' "$dir/traffic.har" | paste - - - |
	sed -E 's/"(method|url|status)": //g; s/[",]//g; s/[[:space:]]+/ /g; s/^ /  /'
echo
echo "==> the bearer token never reaches the file:"
grep -m1 -o '"Bearer [^"]*"' "$dir/traffic.har" || echo "  (no Authorization header captured)"

echo
echo "==> specgate infer $dir/traffic.har -o $dir/specs/"
"$dir/specgate" infer "$dir/traffic.har" -o "$dir/specs/"
echo
echo "==> the paths and operations it inferred:"
for f in "$dir"/specs/*.yaml; do
	echo "  $(basename "$f"):"
	awk '/^paths:/{p=1; next} /^[a-z]/{p=0} p && /^  \//{path=$1} p && /^    (get|put|post|delete|patch):/{sub(":","",$1); printf "    %-7s %s\n", toupper($1), path}' "$f" | tr -d ':'
done
