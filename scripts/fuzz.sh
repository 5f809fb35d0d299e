#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 30s).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
GO=${GO:-go}
status=0
while IFS=: read -r file _ line; do
	name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$line")
	pkg=./$(dirname "$file")
	echo "fuzz $pkg $name ($FUZZTIME)"
	if ! $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >/tmp/specgate-fuzz.log 2>&1; then
		cat /tmp/specgate-fuzz.log
		status=1
	fi
done < <(grep -rHn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | grep -v '/testdata/' | sort)
exit $status
