#!/usr/bin/env bash
# Starts Mailman 3's web front end on http://127.0.0.1:${MAILMAN3_PORT:-8404}
# (Django's server, in the background; pid in $CORPUS_STATE/mailman3/pid).
. "$(dirname "$0")/../common.sh"
port=${MAILMAN3_PORT:-8404}
serve mailman3 "$port" /usr/share/mailman3-web /accounts/login/ \
	/usr/bin/python3 manage.py runserver --noreload --insecure "127.0.0.1:$port"
