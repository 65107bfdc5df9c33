#!/usr/bin/env bash
# Stops the WordPress started by start.sh.
. "$(dirname "$0")/../common.sh"
stop_pid wordpress
