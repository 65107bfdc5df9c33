#!/usr/bin/env bash
# Stops the Mailman 3 web front end started by start.sh.
. "$(dirname "$0")/../common.sh"
stop_pid mailman3
