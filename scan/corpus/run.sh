#!/usr/bin/env bash
# Runs the whole real-application corpus: for each app, installs it afresh
# (so no account or lock is left from an earlier run), starts it on
# 127.0.0.1, scans it with its hand-written target file, stops it, and
# prints a table of the scanner's verdicts against the ground truth.
#
#   sudo scan/corpus/run.sh                      # every app
#   sudo scan/corpus/run.sh dokuwiki mediawiki   # some
#
# Environment:
#   TACIT=/path/to/tacit   scanner to use (default: built from this checkout)
#   SCAN_FLAGS="--timing"  extra flags for tacit scan; with --timing the
#                          table judges timing leaks too
#   CORPUS_KEEP_STATE=1    do not reinstall (keeps accounts and locks left
#                          by the last scan: a second scan within MediaWiki's
#                          5-minute lock window shows how such state is read)
#   CORPUS_ISOLATE=1       scan each endpoint in a scan of its own (fresh
#                          unknown identifiers per endpoint)
#   CORPUS_OUT=DIR         where reports go (default /tmp/tacit-corpus-out)
# Exit status: 0 when every endpoint is as the ground truth says, 1 if not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(dokuwiki wordpress mediawiki mailman3)
out=${CORPUS_OUT:-/tmp/tacit-corpus-out}
mkdir -p "$out"
if [ -z "${TACIT:-}" ]; then
	TACIT=$out/tacit
	(cd "$repo" && go build -o "$TACIT" ./cmd/tacit)
fi
read -r -a flags <<<"${SCAN_FLAGS:-}"
timing=()
case " ${SCAN_FLAGS:-} " in *" --timing "*) timing=(--timing) ;; esac

reports=()
for app in "${apps[@]}"; do
	dir=$here/$app
	[ -f "$dir/target.yaml" ] || { echo "unknown app $app" >&2; exit 2; }
	rm -f "$out/$app.json"
	if [ -z "${CORPUS_KEEP_STATE:-}" ] || [ ! -e "$out/$app.installed" ]; then
		"$dir/stop.sh" >/dev/null 2>&1 || true
		start=$(date +%s)
		if ! "$dir/install.sh" >"$out/$app.install.log" 2>&1; then
			echo "$app: install failed, see $out/$app.install.log; skipped" >&2
			tail -5 "$out/$app.install.log" >&2
			rm -f "$out/$app.json"
			reports+=("$app=$out/$app.json")
			continue
		fi
		echo "$app: installed in $(( $(date +%s) - start ))s" >&2
		touch "$out/$app.installed"
	fi
	"$dir/start.sh"
	start=$(date +%s)
	rc=0
	if [ -n "${CORPUS_ISOLATE:-}" ]; then
		rm -rf "$out/$app.split" && mkdir -p "$out/$app.split"
		parts=()
		for t in $(python3 "$here/split_target.py" "$dir/target.yaml" "$out/$app.split"); do
			"$TACIT" scan "${flags[@]}" -f "$t" --format json -o "${t%.yaml}.json" 2>>"$out/$app.stderr" || { c=$?; [ "$c" -le "$rc" ] || rc=$c; }
			parts+=("${t%.yaml}.json")
		done
		python3 "$here/merge_reports.py" "$out/$app.json" "${parts[@]}"
	else
		"$TACIT" scan "${flags[@]}" -f "$dir/target.yaml" --format json -o "$out/$app.json" 2>"$out/$app.stderr" || rc=$?
	fi
	echo "$app: scanned in $(( $(date +%s) - start ))s, exit $rc" >&2
	"$dir/stop.sh"
	reports+=("$app=$out/$app.json")
done
python3 "$here/summarize.py" "${timing[@]}" "${reports[@]}"
