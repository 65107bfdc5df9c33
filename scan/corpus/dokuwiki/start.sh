#!/usr/bin/env bash
# Starts DokuWiki on http://127.0.0.1:${DOKUWIKI_PORT:-8401} (PHP's built-in
# server, in the background; pid in $CORPUS_STATE/dokuwiki/pid).
. "$(dirname "$0")/../common.sh"
php_serve dokuwiki "${DOKUWIKI_PORT:-8401}" /usr/share/dokuwiki ""
