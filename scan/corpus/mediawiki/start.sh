#!/usr/bin/env bash
# Starts MediaWiki on http://127.0.0.1:${MEDIAWIKI_PORT:-8403} (PHP's built-in
# server, in the background; pid in $CORPUS_STATE/mediawiki/pid).
. "$(dirname "$0")/../common.sh"
php_serve mediawiki "${MEDIAWIKI_PORT:-8403}" /usr/share/mediawiki ""
