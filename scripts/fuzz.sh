#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 30s);
# minimizing a new input is bounded, so a large seed cannot stall a run.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
GO=${GO:-go}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
while IFS=: read -r file _ line; do
	name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$line")
	pkg=./$(dirname "$file")
	pkg=${pkg#././}
	echo "fuzz $pkg $name ($FUZZTIME)"
	for try in 1 2; do
		if $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 10s "./$pkg" >"$log" 2>&1; then
			break
		fi
		# The fuzzing engine can report "context deadline exceeded" when its
		# time runs out mid-input on a loaded machine; that is not a finding.
		# Anything else, or a second time, is.
		if [ "$try" = 1 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
			echo "  (fuzzing engine timed out without a finding; running again)"
			continue
		fi
		cat "$log"
		status=1
		break
	done
done < <(grep -rHn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | grep -v '/testdata/' | sort)
exit $status
