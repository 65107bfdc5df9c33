#!/usr/bin/env bash
# Stops the DokuWiki started by start.sh.
. "$(dirname "$0")/../common.sh"
stop_pid dokuwiki
