#!/usr/bin/env bash
# Installs MediaWiki 1.39 (Debian package) for the scan corpus on
# http://127.0.0.1:${MEDIAWIKI_PORT:-8403}, on SQLite: anyone can create an
# account, password reset by user name or email, mail to a local file, one
# known account Alice / alice@corpus.test / Corpus-Passw0rd!. Per-user
# throttles keep their defaults (5 failed sign-ins per user name in 5
# minutes); per-IP limits are raised, since every probe comes from 127.0.0.1.
# Idempotent: each run removes the wiki's database and installs afresh.
. "$(dirname "$0")/../common.sh"
need_root
apt_install php-cli php-cgi php-sqlite3 php-xml php-mbstring php-intl mediawiki

port=${MEDIAWIKI_PORT:-8403}
data=$CORPUS_STATE/mediawiki/data
rm -rf "$data" /var/lib/mediawiki/LocalSettings.php
mkdir -p "$data"
sink=$(mail_sink mediawiki)
php -d "sendmail_path=$sink" /usr/share/mediawiki/maintenance/install.php \
	--dbtype sqlite --dbpath "$data" --dbname corpuswiki \
	--server "http://127.0.0.1:$port" --scriptpath "" \
	--lang en --pass 'Corpus-Passw0rd!' --confpath /var/lib/mediawiki \
	"Corpus wiki" Alice >&2
cat >>/var/lib/mediawiki/LocalSettings.php <<'PHP'

# --- tacit scan corpus (scan/corpus/mediawiki/install.sh) ---
$wgEnableEmail = true;
$wgEnableUserEmail = true;
$wgEmailAuthentication = false;      # reset mails go to unconfirmed addresses too
$wgPasswordSender = 'wiki@corpus.test';
$wgSMTP = false;                     # PHP mail(), i.e. the corpus mail sink
$wgGroupPermissions['*']['createaccount'] = true;
$wgPasswordResetRoutes = [ 'username' => true, 'email' => true ];
# Every probe comes from 127.0.0.1: lift the per-IP limits only.
$wgAccountCreationThrottle = [ [ 'count' => 100000, 'seconds' => 86400 ] ];
$wgRateLimits['mailpassword']['ip'] = [ 100000, 3600 ];
$wgRateLimits['mailpassword']['ip-all'] = [ 100000, 3600 ];
$wgMainCacheType = CACHE_DB;         # throttles must survive between requests
PHP
chmod -R a+rwX "$data" /var/lib/mediawiki/images 2>/dev/null || true
php /usr/share/mediawiki/maintenance/resetUserEmail.php --no-reset-password Alice alice@corpus.test >&2
# Three more accounts, for timing behind the per-name lock: each name gets
# 5 failed sign-ins before it, so one account gives 5 pairs and four give
# the 20 a timing test needs (timing.sh names all four: timing-known).
for user in Carol Frank Grace; do
	php /usr/share/mediawiki/maintenance/createAndPromote.php "$user" 'Corpus-Passw0rd!' >&2
done
log "mediawiki installed: known account Alice / alice@corpus.test (and Carol, Frank, Grace)"
