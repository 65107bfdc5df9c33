#!/usr/bin/env bash
# Installs Mailman 3's web front end (Debian package mailman3-web: Django,
# django-allauth 0.51, Postorius, HyperKitty; no Mailman core) for the scan
# corpus on http://127.0.0.1:${MAILMAN3_PORT:-8404}, on SQLite: allauth's
# sign-up, sign-in and password reset as Debian ships them (email
# verification mandatory, one account per address), mail to files in
# $CORPUS_STATE/mailman3/mail, one known account alice / alice@corpus.test /
# Corpus-Passw0rd! with a verified address. Idempotent: each run starts from
# an empty database.
. "$(dirname "$0")/../common.sh"
need_root
echo "mailman3-web mailman3-web/dbconfig-install boolean true" | debconf-set-selections
echo "mailman3-web mailman3-web/database-type select sqlite3" | debconf-set-selections
echo "mailman3-web mailman3-web/restart-webserver boolean false" | debconf-set-selections
echo "mailman3-web mailman3-web/configure-webserver select none" | debconf-set-selections
apt_install mailman3-web

state=$CORPUS_STATE/mailman3
rm -rf "$state/web.db" "$state/mail"
mkdir -p "$state/mail"
conf=/etc/mailman3/mailman-web.py
# Replace the corpus block, if any, at the end of the settings.
sed -i '/^# --- tacit scan corpus ---/,$d' "$conf"
cat >>"$conf" <<PY
# --- tacit scan corpus --- (scan/corpus/mailman3/install.sh; keep last)
DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
DATABASES['default']['NAME'] = '$state/web.db'
EMAIL_BACKEND = 'django.core.mail.backends.filebased.EmailBackend'
EMAIL_FILE_PATH = '$state/mail'
ACCOUNT_DEFAULT_HTTP_PROTOCOL = 'http'
PY
cd /usr/share/mailman3-web
/usr/bin/python3 manage.py migrate --noinput -v0 >&2 2>/dev/null
/usr/bin/python3 manage.py shell -c '
from django.contrib.auth.models import User
from allauth.account.models import EmailAddress
u = User.objects.create_user("alice", "alice@corpus.test", "Corpus-Passw0rd!")
EmailAddress.objects.create(user=u, email="alice@corpus.test", verified=True, primary=True)
print("known account", u.username, u.email)
# Three more, for timing behind allauth'"'"'s lock of every address at its
# 6th failed sign-in (timing.sh names all four: timing-known).
for name in ("carol", "frank", "grace"):
    v = User.objects.create_user(name, name + "@corpus.test", "Corpus-Passw0rd!")
    EmailAddress.objects.create(user=v, email=v.email, verified=True, primary=True)
' >&2
log "mailman3 installed: known account alice / alice@corpus.test (and carol, frank, grace @corpus.test)"
