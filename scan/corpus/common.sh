# Shared helpers for the corpus scripts; sourced, not run.
# Everything listens on 127.0.0.1 only. State lives under $CORPUS_STATE
# (default /var/lib/tacit-corpus), one folder per app.

set -euo pipefail

CORPUS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CORPUS_STATE=${CORPUS_STATE:-/var/lib/tacit-corpus}

log() { printf '[corpus] %s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "run as root (apt-get install)" >&2
		exit 2
	fi
}

# apt_install PKG... installs Debian packages without recommends and without
# starting any service they ship (apache2-bin comes in with php8.2 and must
# not listen on 0.0.0.0:80). apt-get update runs once (per /tmp), and again
# if the install fails.
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ ! -e /tmp/.tacit-corpus-apt-updated ]; then
		apt-get update -q >&2
		touch /tmp/.tacit-corpus-apt-updated
	fi
	local made_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		made_policy=1
	fi
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
		# stale package lists: update once more and retry
		apt-get update -q >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
	fi
	[ $made_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	return 0
}

# mail_sink APP prints a sendmail_path that appends each mail to
# $CORPUS_STATE/APP/mail.log instead of sending it.
mail_sink() {
	local dir=$CORPUS_STATE/$1
	mkdir -p "$dir"
	cat >"$dir/sendmail" <<SINK
#!/bin/sh
{ echo "----- \$(date -u +%FT%TZ) \$*"; cat; } >>"$dir/mail.log"
SINK
	chmod +x "$dir/sendmail"
	echo "$dir/sendmail"
}

# php_serve APP PORT DOCROOT [ROUTER] [php -d settings...] starts PHP's
# built-in server on 127.0.0.1:PORT in the background, writes its pid to
# $CORPUS_STATE/APP/pid and waits until it answers.
php_serve() {
	local app=$1 port=$2 root=$3 router=${4:-}
	shift 4 || shift $#
	local sink
	sink=$(mail_sink "$app")
	serve "$app" "$port" "$root" / env PHP_CLI_SERVER_WORKERS="${PHP_CLI_SERVER_WORKERS:-2}" \
		php -S "127.0.0.1:$port" -d "sendmail_path=$sink" -d display_errors=0 -d log_errors=1 \
		"$@" ${router:+"$router"}
}

# serve APP PORT DIR PATH COMMAND... runs COMMAND in DIR as the leader of a
# new session (so stop_pid can end it and every worker it forks), records
# its pid in $CORPUS_STATE/APP/pid and waits until http://127.0.0.1:PORT/PATH
# answers. It refuses a port that something else already answers on, which
# would otherwise be scanned in its place.
serve() {
	local app=$1 port=$2 root=$3 path=$4
	shift 4
	local dir=$CORPUS_STATE/$app
	mkdir -p "$dir"
	if [ -s "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
		log "$app already running (pid $(cat "$dir/pid")) on 127.0.0.1:$port"
		return 0
	fi
	if curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/"; then
		echo "$app: something else already answers on 127.0.0.1:$port; stop it first" >&2
		return 1
	fi
	rm -f "$dir/pid"
	(cd "$root" && setsid sh -c 'echo $$ >"$0"; exec "$@"' "$dir/pid" "$@" \
		>>"$dir/server.log" 2>&1 </dev/null &)
	for _ in $(seq 1 300); do
		if [ -s "$dir/pid" ] && ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			break # it exited
		fi
		if [ -s "$dir/pid" ] && curl -s -o /dev/null "http://127.0.0.1:$port$path"; then
			log "$app up on http://127.0.0.1:$port (pid $(cat "$dir/pid"), mail in $dir)"
			return 0
		fi
		sleep 0.1
	done
	echo "$app did not start; see $dir/server.log" >&2
	tail -3 "$dir/server.log" >&2
	return 1
}

# stop_pid APP stops the server started by php_serve (its process group).
stop_pid() {
	local f=$CORPUS_STATE/$1/pid
	if [ -s "$f" ]; then
		local pid
		pid=$(cat "$f")
		kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$f"
		log "$1 stopped"
	fi
}

# gt_post LABEL FORMURL POSTURL [curl --data args...] fetches FORMURL in a
# fresh cookie jar (as a browser would load the form), then posts to
# POSTURL in the same jar, and prints one line: label, status, body size,
# time, redirect target, Set-Cookie names, and the app's message (the text
# of the first element whose class or id says error/success/message).
# The full answer is kept in $GT_OUT/LABEL.{headers,body}. With GT_TOKEN=NAME
# set, the value of the form's hidden input NAME (a CSRF token) is posted too.
gt_post() {
	local label=$1 form=$2 post=$3
	shift 3
	local jar
	jar=$(mktemp)
	GT_OUT=${GT_OUT:-$(mktemp -d)}
	curl -s -c "$jar" -b "$jar" -o "$GT_OUT/$label.form" "$form"
	if [ -n "${GT_TOKEN:-}" ]; then
		local tok
		tok=$(python3 - "$GT_OUT/$label.form" "$GT_TOKEN" <<'PY'
import re, sys, html
b = open(sys.argv[1], encoding='utf-8', errors='replace').read()
for m in re.finditer(r'<input[^>]*>', b):
    t = m.group(0)
    if re.search(r'name=["\']%s["\']' % re.escape(sys.argv[2]), t):
        v = re.search(r'value=["\']([^"\']*)["\']', t)
        print(html.unescape(v.group(1)) if v else '')
        break
PY
)
		set -- "$@" --data-urlencode "$GT_TOKEN=$tok"
	fi
	local line
	line=$(curl -s -c "$jar" -b "$jar" -D "$GT_OUT/$label.headers" -o "$GT_OUT/$label.body" \
		-w '%{http_code} %{size_download}B %{time_total}s redirect=%{redirect_url}' "$post" "$@")
	local cookies msg
	cookies=$( (grep -i '^set-cookie:' "$GT_OUT/$label.headers" || true) | sed 's/^[^:]*: *//;s/=.*//' | sort | tr '\n' ',' | sed 's/,$//')
	msg=$(python3 - "$GT_OUT/$label.body" <<'PY'
import re, sys, html
b = open(sys.argv[1], encoding='utf-8', errors='replace').read()
t = ''
for kinds in ('login_error|error|errorbox|warningbox|alert', 'success|successbox|message|info'):
    m = re.search(r'<(div|p|span|li)[^>]*(class|id)="[^"]*(%s)[^"]*"[^>]*>(.*?)</\1>' % kinds, b, re.S)
    if m:
        t = re.sub(r'<[^>]+>', ' ', m.group(4))
        break
if not t and 'mw-content-text' in b:  # MediaWiki: the page's first words
    t = re.sub(r'<[^>]+>', ' ', b[b.find('mw-content-text'):][:3000]).split('>', 1)[-1]
t = html.unescape(re.sub(r'\s+', ' ', t)).strip()
title = re.search(r'<title>(.*?)</title>', b, re.S)
print((t[:160] or '-') + ' | title=' + (html.unescape(title.group(1).strip()) if title else '-'))
PY
)
	printf '%-22s %s cookies=%s | %s\n' "$label" "$line" "${cookies:-none}" "$msg"
	rm -f "$jar"
}
