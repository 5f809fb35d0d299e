#!/usr/bin/env bash
# The specgate demo: the story specgate exists for, on the demo system
# (internal/demo: a todo service that reports every write to a statistics
# service, and the todo service's integration tests).
#
#   1. v1, on the default branch: the tests run under 'specgate check
#      --update-baseline', which records one OpenAPI document per service.
#   2. v2 fixes a typo in a response field, descripton -> description. The
#      tests still pass; every consumer reading descripton would break.
#      'specgate check' fails and names the rename and its callers.
#   3. v3 adds an endpoint: a non-breaking change, and the gate passes.
#   4. As root: v1 and v2 again in a simulated kind cluster, captured with
#      check --kind-cluster and named as the cluster names them.
#
# specgate captures loopback when it may (root, or sudo without a
# password); otherwise, or with DEMO_PROXY=1, the tests call the services
# through 'specgate proxy', the unprivileged tap. The todo service keeps its
# todos in memory, or in Redis with REDIS_URL=redis://host:port/db.
# (With the taps, check --proxy LISTEN=UPSTREAM runs them while the tests
# run.)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
dir=${DEMO_DIR:-.demo}
port=${DEMO_PORT:-18089}
stats_port=${DEMO_STATS_PORT:-18090}
mkdir -p "$dir"
rm -rf "$dir/specs" "$dir"/report-* "$dir"/*.ndjson

echo "==> building specgate and the demo system"
CGO_ENABLED=0 $GO build -trimpath -o "$dir/specgate" ./cmd/specgate
$GO build -o "$dir/" ./internal/demo/cmd/todo ./internal/demo/cmd/stats ./internal/demo/cmd/client

pids=()
stop_all() {
	for pid in ${pids[@]+"${pids[@]}"}; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in ${pids[@]+"${pids[@]}"}; do
		wait "$pid" 2>/dev/null || true
	done
	pids=()
}
trap stop_all EXIT

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

sudo=""
live=""
if [ -z "${DEMO_PROXY:-}" ]; then
	if [ "$(id -u)" = 0 ]; then
		live=1
	elif sudo -n true 2>/dev/null; then
		live=1 sudo="sudo -n"
	fi
fi
if [ -n "$live" ]; then
	echo "==> specgate captures loopback, passively"
	todo_url="http://127.0.0.1:$port" stats_url="http://127.0.0.1:$stats_port"
else
	echo "==> live capture needs CAP_NET_RAW (root or sudo): the tests call the services"
	echo "    through 'specgate proxy', the unprivileged tap, instead"
	todo_url="http://127.0.0.1:$((port + 10000))" stats_url="http://127.0.0.1:$((stats_port + 10000))"
fi
store="in memory"
if [ -n "${REDIS_URL:-}" ]; then
	store="in Redis at $REDIS_URL"
fi

# run VERSION CHECK-ARGS...: starts the system at VERSION, runs its tests
# under specgate check, and returns check's exit status.
run() {
	local version=$1
	shift
	stop_all
	start stats -addr "127.0.0.1:$stats_port"
	start todo -addr "127.0.0.1:$port" -version "$version" -stats "$stats_url"
	local client=("$dir/client" -todo "$todo_url" -stats "$stats_url" -version "$version" ${DEMO_SEED:+-seed "$DEMO_SEED"})
	local status=0
	if [ -n "$live" ]; then
		$sudo "$dir/specgate" check -i lo -f "tcp port $port or tcp port $stats_port" -q "$@" -- "${client[@]}" || status=$?
	else
		# One tap in front of each service: the todo service's calls to the
		# statistics service go through the second.
		"$dir/specgate" check -q "$@" \
			--proxy "127.0.0.1:$((port + 10000))=http://127.0.0.1:$port" \
			--proxy "127.0.0.1:$((stats_port + 10000))=http://127.0.0.1:$stats_port" \
			-- "${client[@]}" || status=$?
	fi
	return $status
}

echo
echo "==> 1. todo v1 ($store), on the default branch: record the baseline"
echo "    specgate check --baseline $dir/specs/ --update-baseline -- client"
run v1 --baseline "$dir/specs/" --update-baseline
ls "$dir/specs" | sed 's/^/    /'

echo
echo "==> 2. todo v2 fixes a typo in a response field (descripton -> description); its tests pass"
echo "    specgate check --baseline $dir/specs/ --format markdown=$dir/report-v2.md -- client"
status=0
run v2 --baseline "$dir/specs/" --format text --format "markdown=$dir/report-v2.md" || status=$?
echo "    exit status $status (1: breaking changes)"
[ "$status" = 1 ] || { echo "demo: v2 should fail the gate" >&2; exit 1; }
echo
echo "==> the pull-request comment specgate writes ($dir/report-v2.md):"
sed 's/^/    /' "$dir/report-v2.md"

echo
echo "==> 3. todo v3 adds DELETE /todos, a non-breaking addition"
status=0
run v3 --baseline "$dir/specs/" --format text || status=$?
echo "    exit status $status (0: pass)"
[ "$status" = 0 ] || { echo "demo: v3 should pass the gate" >&2; exit 1; }

echo
echo "==> 4. the same in a kind cluster: the services in pods, the tests through a NodePort"
if [ -z "$live" ] || ! command -v iptables >/dev/null; then
	echo "    skipped: the simulated kind node (network namespaces, a bridge and kube-proxy's"
	echo "    iptables rules, internal/kindsim) needs root and iptables"
	exit 0
fi
$GO build -o "$dir/" ./internal/kindsim/cmd/kindsim
rm -rf "$dir/kind-specs"
# kind VERSION CHECK-ARGS...: the demo system at VERSION in a simulated kind
# cluster named demo, its tests under 'specgate check --kind-cluster demo'.
kind() {
	local version=$1
	shift
	$sudo "$dir/kindsim" -name demo -version "$version" -- \
		"$dir/specgate" check --kind-cluster demo -q "$@" -- \
		sh -c 'exec "$0" -todo "$KINDSIM_TODO_URL" -version "$1"' "$dir/client" "$version"
}
echo "    specgate check --kind-cluster demo --baseline $dir/kind-specs/ --update-baseline -- client"
kind v1 --baseline "$dir/kind-specs/" --update-baseline
ls "$dir/kind-specs" | sed 's/^/    /'
echo "    the statistics service's callers, named by workload:"
grep -A1 'callers:' "$dir/kind-specs/default.stats-service.yaml" | grep -- '- ' | sort -u | sed 's/^ */      /'
status=0
kind v2 --baseline "$dir/kind-specs/" --format text || status=$?
echo "    exit status $status (1: breaking changes)"
[ "$status" = 1 ] || { echo "demo: v2 should fail the gate in the kind cluster too" >&2; exit 1; }
