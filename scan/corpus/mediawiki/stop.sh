#!/usr/bin/env bash
# Stops the MediaWiki started by start.sh.
. "$(dirname "$0")/../common.sh"
stop_pid mediawiki
