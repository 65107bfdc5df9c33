#!/usr/bin/env bash
# Takes DokuWiki's ground truth by hand: each account endpoint with the
# known account (alice) and with never-registered login names, a few times
# each, and prints what differs. Run after install.sh and start.sh; it
# creates accounts (sign-up), so run install.sh again for a clean state.
. "$(dirname "$0")/../common.sh"
B=http://127.0.0.1:${DOKUWIKI_PORT:-8401}
n() { echo "gt$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
echo "# sign-in (wrong password)"
for i in 1 2 3; do
	for u in alice "$(n)"; do
		gt_post "login:$u" "$B/doku.php?id=start&do=login" "$B/doku.php?id=start" \
			-d sectok= -d id=start -d do=login --data-urlencode "u=$u" -d p=Wrong-Passw0rd-xyz
	done
done
echo "# sign-up (login name taken vs free; email always fresh)"
for i in 1 2; do
	for u in alice "$(n)"; do
		gt_post "register:$u" "$B/doku.php?id=start&do=register" "$B/doku.php?id=start&do=register" \
			-d sectok= -d do=register -d save=1 --data-urlencode "login=$u" -d pass=Corpus-New-Passw0rd \
			-d passchk=Corpus-New-Passw0rd -d fullname=Probe --data-urlencode "email=$(n)@corpus.test"
	done
done
echo "# sign-up with the known account's email and a fresh login name"
gt_post "register:email" "$B/doku.php?id=start&do=register" "$B/doku.php?id=start&do=register" \
	-d sectok= -d do=register -d save=1 --data-urlencode "login=$(n)" -d pass=Corpus-New-Passw0rd \
	-d passchk=Corpus-New-Passw0rd -d fullname=Probe --data-urlencode "email=alice@corpus.test"
echo "# password reset (resendpwd)"
for i in 1 2; do
	for u in alice "$(n)"; do
		gt_post "reset:$u" "$B/doku.php?id=start&do=resendpwd" "$B/doku.php?id=start&do=resendpwd" \
			-d sectok= -d do=resendpwd -d save=1 --data-urlencode "login=$u"
	done
done
echo "# lockout: 12 wrong passwords for alice, then the right one"
for i in $(seq 1 12); do
	curl -s -o /dev/null "$B/doku.php?id=start" -d do=login -d u=alice -d p=wrong
done
gt_post "login:alice-right" "$B/doku.php?id=start&do=login" "$B/doku.php?id=start" \
	-d sectok= -d id=start -d do=login -d u=alice --data-urlencode 'p=Corpus-Passw0rd!'
echo "# reset rate limit: 10 more resets for alice"
for i in $(seq 1 10); do
	gt_post "reset:alice#$i" "$B/doku.php?id=start&do=resendpwd" "$B/doku.php?id=start&do=resendpwd" \
		-d sectok= -d do=resendpwd -d save=1 -d login=alice
done | awk '{$1=""; $4=""; print}' | sort | uniq -c
