#!/usr/bin/env bash
# Starts WordPress on http://127.0.0.1:${WORDPRESS_PORT:-8402} (PHP's built-in
# server, in the background; pid in $CORPUS_STATE/wordpress/pid).
. "$(dirname "$0")/../common.sh"
php_serve wordpress "${WORDPRESS_PORT:-8402}" /usr/share/wordpress ""
