#!/usr/bin/env bash
# CI's corpus check: installs DokuWiki (the fastest corpus app to install:
# PHP and one Debian package, no database), starts it on 127.0.0.1:8401,
# scans it with its hand-written target and asserts the verdict the ground
# truth (dokuwiki/GROUND_TRUTH.md) calls for on every endpoint:
#
#   login      clean on every content channel (timing leak: see below)
#   register   leak, USER_ENUM_REGISTER ("a user with this login already exists")
#   resendpwd  leak, USER_ENUM_PASSWORD_RESET ("can't find this user")
#
# and, when the scanner has --timing-budget, that a timing scan of the
# sign-in endpoint finds its 100+ ms leak (USER_ENUM_TIMING) within the
# budget. CORPUS_CI_TIMING=0 skips that part, =1 requires it.
#
#   sudo scan/corpus/ci.sh        # TACIT=/path/to/tacit to skip the build
# Prints "corpus: N passed, N failed"; exits 1 if any assertion failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${CORPUS_OUT:-$(mktemp -d /tmp/tacit-corpus-ci.XXXXXX)}
mkdir -p "$out"
if [ -z "${TACIT:-}" ]; then
	TACIT=$out/tacit
	(cd "$repo" && go build -o "$TACIT" ./cmd/tacit)
fi
app=$here/dokuwiki

"$app/stop.sh" >/dev/null 2>&1 || true
start=$(date +%s)
if ! "$app/install.sh" >"$out/install.log" 2>&1; then
	tail -20 "$out/install.log" >&2
	echo "corpus: 0 passed, 1 failed (dokuwiki did not install)"
	exit 1
fi
echo "corpus: dokuwiki installed in $(( $(date +%s) - start ))s" >&2
"$app/start.sh"
trap '"$app/stop.sh"' EXIT

passed=0
failed=0
rc=0
"$TACIT" scan -f "$app/target.yaml" --format json -o "$out/dokuwiki.json" 2>"$out/scan.stderr" || rc=$?
echo "corpus: tacit scan exit $rc" >&2
table=$(python3 "$here/summarize.py" "dokuwiki=$out/dokuwiki.json" || true)
echo "$table"
while IFS='|' read -r _ appcol ep truth verdict outcome _; do
	outcome=$(echo "$outcome" | xargs)
	case "$outcome" in
	found | "agrees (clean)") passed=$((passed + 1)) ;;
	"" | outcome | -*) ;;
	*) failed=$((failed + 1)); echo "FAIL dokuwiki $(echo "$ep" | xargs): ground truth $(echo "$truth" | xargs), scanner $(echo "$verdict" | xargs) ($outcome)" ;;
	esac
done <<<"$(echo "$table" | grep '^| dokuwiki')"

want_timing=${CORPUS_CI_TIMING:-auto}
if [ "$want_timing" = auto ]; then
	if "$TACIT" scan --help 2>&1 | grep -q -- '--timing-budget'; then want_timing=1; else want_timing=0; fi
	[ "$want_timing" = 1 ] || echo "corpus: timing of dokuwiki login not checked: this scanner has no --timing-budget" >&2
fi
if [ "$want_timing" = 1 ]; then
	python3 "$here/split_target.py" "$app/target.yaml" "$out" >/dev/null
	trc=0
	timeout 300 "$TACIT" scan --timing --timing-budget "${CORPUS_CI_TIMING_BUDGET:-120s}" \
		-f "$out/login.yaml" --format json -o "$out/login-timing.json" 2>"$out/timing.stderr" || trc=$?
	if python3 - "$out/login-timing.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if any(f["rule"] == "USER_ENUM_TIMING" for f in r.get("findings") or []) else 1)
PY
	then
		passed=$((passed + 1))
		echo "ok   dokuwiki login timing: USER_ENUM_TIMING found (exit $trc)"
	else
		failed=$((failed + 1))
		echo "FAIL dokuwiki login timing: ground truth leak (+100-700 ms), scanner found no USER_ENUM_TIMING (exit $trc)"
	fi
fi
echo "corpus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
