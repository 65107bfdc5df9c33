#!/usr/bin/env bash
# Takes MediaWiki's ground truth by hand: each account endpoint with the
# known account (Alice) and never-registered user names, and prints what
# differs. Run after install.sh and start.sh; sign-up creates accounts and
# sign-in failures start 5-minute throttles, so run install.sh again for a
# clean state.
. "$(dirname "$0")/../common.sh"
B=http://127.0.0.1:${MEDIAWIKI_PORT:-8403}
n() { echo "Gt$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
edit=(--data-urlencode 'wpEditToken=+\')
echo "# sign-in (wrong password), 7 times each: the throttle starts at the 6th"
u=$(n)
for i in 1 2 3 4 5 6 7; do
	for name in Alice "$u"; do
		GT_TOKEN=wpLoginToken gt_post "login#$i:$name" "$B/index.php?title=Special:UserLogin" \
			"$B/index.php/Special:UserLogin" -d title=Special:UserLogin --data-urlencode "wpName=$name" \
			-d wpPassword=Wrong-Passw0rd-xyz -d authAction=login -d force= "${edit[@]}"
	done
done
echo "# sign-up: user name taken vs free"
for i in 1 2; do
	for name in Alice "$(n)"; do
		GT_TOKEN=wpCreateaccountToken gt_post "create:$name" "$B/index.php?title=Special:CreateAccount" \
			"$B/index.php/Special:CreateAccount" -d title=Special:CreateAccount --data-urlencode "wpName=$name" \
			-d wpPassword=Corpus-New-Passw0rd-9 -d retype=Corpus-New-Passw0rd-9 \
			--data-urlencode "email=$(n)@corpus.test" -d realname= -d authAction=create -d force= "${edit[@]}"
	done
done
echo "# password reset, by user name and by address"
for i in 1 2; do
	for name in Alice "$(n)"; do
		gt_post "reset:$name" "$B/index.php?title=Special:PasswordReset" "$B/index.php/Special:PasswordReset" \
			-d title=Special:PasswordReset --data-urlencode "wpUsername=$name" -d wpEmail= -d redirectparams= "${edit[@]}"
	done
	for e in alice@corpus.test "$(n)@corpus.test"; do
		gt_post "reset:$e" "$B/index.php?title=Special:PasswordReset" "$B/index.php/Special:PasswordReset" \
			-d title=Special:PasswordReset -d wpUsername= --data-urlencode "wpEmail=$e" -d redirectparams= "${edit[@]}"
	done
done
