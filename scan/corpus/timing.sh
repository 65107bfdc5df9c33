#!/usr/bin/env bash
# Timing check of each app's sign-in endpoint alone: installs the app
# afresh (no lock left from an earlier scan), starts it, runs
# `tacit scan --timing --timing-budget $BUDGET` on a target holding only
# the sign-in endpoint, stops the app and prints the verdict table
# (judged against content and timing ground truth).
#
#   sudo scan/corpus/timing.sh                     # dokuwiki mediawiki mailman3
#   sudo BUDGET=5m scan/corpus/timing.sh dokuwiki
#
# Environment: TACIT, CORPUS_OUT as for run.sh; BUDGET (default 2m);
# ENDPOINT (default: the app's sign-in endpoint, "login"). An app's
# timing-known file, if any, replaces the target's known identifiers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(dokuwiki mediawiki mailman3)
out=${CORPUS_OUT:-/tmp/tacit-corpus-timing}
budget=${BUDGET:-2m}
endpoint=${ENDPOINT:-login}
mkdir -p "$out"
if [ -z "${TACIT:-}" ]; then
	TACIT=$out/tacit
	(cd "$repo" && go build -o "$TACIT" ./cmd/tacit)
fi
reports=()
for app in "${apps[@]}"; do
	dir=$here/$app
	"$dir/stop.sh" >/dev/null 2>&1 || true
	"$dir/install.sh" >"$out/$app.install.log" 2>&1 || { echo "$app: install failed" >&2; continue; }
	rm -rf "$out/$app.split" && mkdir -p "$out/$app.split"
	python3 "$here/split_target.py" "$dir/target.yaml" "$out/$app.split" >/dev/null
	t=$out/$app.split/$endpoint.yaml
	# An app whose every name locks after a few failures names more known
	# accounts for timing (timing-known): each adds its attempts below
	# its own lock.
	if [ -f "$dir/timing-known" ]; then
		sed -i "s/^known: .*/known: [$(cat "$dir/timing-known")]/" "$t"
	fi
	"$dir/start.sh"
	start=$(date +%s)
	rc=0
	"$TACIT" scan --timing --timing-budget "$budget" -f "$t" --format json -o "$out/$app.json" 2>"$out/$app.stderr" || rc=$?
	echo "$app: $endpoint timed in $(( $(date +%s) - start ))s, exit $rc" >&2
	"$dir/stop.sh"
	reports+=("$app=$out/$app.json")
done
python3 "$here/summarize.py" --timing --only "$endpoint" "${reports[@]}"
