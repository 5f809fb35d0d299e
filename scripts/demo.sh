#!/usr/bin/env bash
# The specgate demo: run the demo system's integration test against the todo
# service and capture every HTTP exchange it makes, passively, on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
dir=${DEMO_DIR:-.demo}
port=${DEMO_PORT:-18089}
mkdir -p "$dir"

echo "==> building specgate and the demo system"
CGO_ENABLED=0 $GO build -trimpath -o "$dir/specgate" ./cmd/specgate
$GO build -o "$dir/todo" ./testdata/demo/todo
$GO build -o "$dir/client" ./testdata/demo/client

"$dir/todo" -addr "127.0.0.1:$port" 2>"$dir/todo.log" &
todo=$!
trap 'kill $todo 2>/dev/null || true' EXIT

sudo=""
if [ "$(id -u)" != 0 ] && sudo -n true 2>/dev/null; then
	sudo="sudo -n"
fi
if [ -z "${DEMO_REPLAY:-}" ] && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
	echo "==> specgate capture -i lo -f 'tcp port $port' -w $dir/traffic.har -- client"
	$sudo "$dir/specgate" capture -i lo -f "tcp port $port" -w "$dir/traffic.har" \
		--stats-json "$dir/stats.json" -- "$dir/client" -base "http://127.0.0.1:$port"
else
	echo "==> live capture needs CAP_NET_RAW (root or sudo); replaying testdata/demo/demo.pcap,"
	echo "    which tcpdump recorded from this same demo"
	"$dir/client" -base "http://127.0.0.1:$port"
	"$dir/specgate" capture -r testdata/demo/demo.pcap -w "$dir/traffic.har" --stats-json "$dir/stats.json"
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
	awk '/^paths:/{p=1; next} /^[a-z]/{p=0} p && /^  \//{path=$1} p && /^    (get|put|post|delete|patch):/{sub(":","",$1); printf "  %-7s %s\n", toupper($1), path}' "$f" | tr -d ':' 
done
