#!/usr/bin/env bash
# Installs WordPress (Debian package) for the scan corpus on
# http://127.0.0.1:${WORDPRESS_PORT:-8402}: "Anyone can register" on, mail to
# a local file, one known account alice / alice@corpus.test /
# Corpus-Passw0rd!. Needs MariaDB or MySQL on 127.0.0.1:3306 (user root, no
# password; override with WP_DB_USER, WP_DB_PASSWORD). Idempotent: each run
# drops the corpus database and installs afresh, so no state (accounts made
# by an earlier scan) is left.
. "$(dirname "$0")/../common.sh"
need_root
apt_install php-cli php-cgi php-mysql php-gd php-xml php-mbstring default-mysql-client wordpress

port=${WORDPRESS_PORT:-8402}
db=tacit_corpus_wp
dbuser=${WP_DB_USER:-root}
dbpass=${WP_DB_PASSWORD:-}
if ! mysql -h 127.0.0.1 -P 3306 -u "$dbuser" ${dbpass:+-p"$dbpass"} -e 'select 1' >/dev/null; then
	echo "wordpress needs MariaDB/MySQL on 127.0.0.1:3306 (user $dbuser)" >&2
	exit 2
fi
mysql -h 127.0.0.1 -P 3306 -u "$dbuser" ${dbpass:+-p"$dbpass"} \
	-e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4;"

# Debian's wp-config.php reads /etc/wordpress/config-<host>.php.
salt() { head -c 48 /dev/urandom | base64 | tr -d '\n/+='; }
cat >/etc/wordpress/config-127.0.0.1.php <<PHP
<?php
// Written by tacit scan/corpus/wordpress/install.sh
define('DB_NAME', '$db');
define('DB_USER', '$dbuser');
define('DB_PASSWORD', '$dbpass');
define('DB_HOST', '127.0.0.1:3306');
define('WP_HOME', 'http://127.0.0.1:$port');
define('WP_SITEURL', 'http://127.0.0.1:$port');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('AUTH_KEY', '$(salt)');
define('SECURE_AUTH_KEY', '$(salt)');
define('LOGGED_IN_KEY', '$(salt)');
define('NONCE_KEY', '$(salt)');
define('AUTH_SALT', '$(salt)');
define('SECURE_AUTH_SALT', '$(salt)');
define('LOGGED_IN_SALT', '$(salt)');
define('NONCE_SALT', '$(salt)');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
PHP

# Install from the command line, as wp-admin/install.php would.
sink=$(mail_sink wordpress)
php -d "sendmail_path=$sink" -r '
$_SERVER["HTTP_HOST"] = "127.0.0.1:'"$port"'";
$_SERVER["REQUEST_URI"] = "/";
define("WP_INSTALLING", true);
require "/usr/share/wordpress/wp-load.php";
require ABSPATH . "wp-admin/includes/upgrade.php";
$r = wp_install("Corpus blog", "alice", "alice@corpus.test", false, "", wp_slash("Corpus-Passw0rd!"));
update_option("users_can_register", 1);
update_option("default_role", "subscriber");
echo "installed, admin user id ", $r["user_id"], "\n";
' >&2
log "wordpress installed: known account alice / alice@corpus.test"
