#!/usr/bin/env bash
# Installs DokuWiki (Debian package) for the scan corpus: self-registration
# on, password reset on ("resendpwd"), mail to a local file, one known
# account alice@corpus.test / Corpus-Passw0rd!. Idempotent.
. "$(dirname "$0")/../common.sh"
need_root
apt_install php-cli php-cgi php-xml dokuwiki

conf=/etc/dokuwiki
# DokuWiki's defaults keep "register" and "resendpwd" on; say so anyway,
# and keep every other default (no lockout, no captcha).
cat >"$conf/local.php" <<'PHP'
<?php
// Written by tacit scan/corpus/dokuwiki/install.sh
$conf['title'] = 'Corpus wiki';
$conf['lang'] = 'en';
$conf['useacl'] = 1;
$conf['authtype'] = 'authplain';
$conf['superuser'] = '@admin';
$conf['disableactions'] = '';
$conf['autopasswd'] = 0;      // sign-up chooses the password (no mail needed)
$conf['mailfrom'] = 'wiki@corpus.test';
$conf['userewrite'] = 0;
PHP
# The known account: login "alice", mail alice@corpus.test.
hash=$(php -r 'echo password_hash("Corpus-Passw0rd!", PASSWORD_BCRYPT);')
{
	echo '# users.auth.php, written by tacit scan/corpus/dokuwiki/install.sh'
	echo '# login:passwordhash:Real Name:email:groups,comma,separated'
	echo "alice:$hash:Alice Corpus:alice@corpus.test:admin,user"
} >"$conf/users.auth.php"
[ -f "$conf/acl.auth.php" ] || echo '* @ALL 1' >"$conf/acl.auth.php"
chown www-data "$conf/users.auth.php" 2>/dev/null || true
chmod 666 "$conf/users.auth.php"
# The built-in server runs as root: let it write the data tree.
mkdir -p "$CORPUS_STATE/dokuwiki"
log "dokuwiki installed: known account alice / alice@corpus.test"
