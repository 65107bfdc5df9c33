#!/usr/bin/env bash
# Takes the ground truth of Mailman 3's web front end (django-allauth 0.51)
# by hand: each account endpoint with the known account (alice@corpus.test)
# and never-registered addresses, and prints what differs. Run after
# install.sh and start.sh; sign-up creates accounts, so run install.sh again
# for a clean state.
. "$(dirname "$0")/../common.sh"
B=http://127.0.0.1:${MAILMAN3_PORT:-8404}
n() { echo "gt$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
export GT_TOKEN=csrfmiddlewaretoken
ref=(-H "Referer: $B/")
echo "# sign-in (wrong password), by address and by user name"
for i in 1 2 3; do
	for u in alice@corpus.test "$(n)@corpus.test" alice "$(n)"; do
		gt_post "login:$u" "$B/accounts/login/" "$B/accounts/login/" "${ref[@]}" \
			--data-urlencode "login=$u" -d password=Wrong-Passw0rd-xyz
	done
done
echo "# sign-up: address taken vs free (fresh user name each time)"
for i in 1 2; do
	for e in alice@corpus.test "$(n)@corpus.test"; do
		gt_post "signup:$e" "$B/accounts/signup/" "$B/accounts/signup/" "${ref[@]}" \
			--data-urlencode "email=$e" --data-urlencode "username=$(n)" \
			-d password1=Corpus-New-Passw0rd-9 -d password2=Corpus-New-Passw0rd-9
	done
done
echo "# sign-up: user name taken"
gt_post "signup:username=alice" "$B/accounts/signup/" "$B/accounts/signup/" "${ref[@]}" \
	--data-urlencode "email=$(n)@corpus.test" -d username=alice \
	-d password1=Corpus-New-Passw0rd-9 -d password2=Corpus-New-Passw0rd-9
echo "# password reset"
for i in 1 2; do
	for e in alice@corpus.test "$(n)@corpus.test"; do
		gt_post "reset:$e" "$B/accounts/password/reset/" "$B/accounts/password/reset/" "${ref[@]}" \
			--data-urlencode "email=$e"
	done
done
echo "# lockout: 12 wrong passwords for alice, then the right one"
for i in $(seq 1 12); do
	gt_post "login:alice#$i" "$B/accounts/login/" "$B/accounts/login/" "${ref[@]}" \
		-d login=alice@corpus.test -d password=wrong
done | awk '{$1=""; $4=""; print}' | sort | uniq -c
gt_post "login:alice-right" "$B/accounts/login/" "$B/accounts/login/" "${ref[@]}" \
	-d login=alice@corpus.test --data-urlencode 'password=Corpus-Passw0rd!'
echo "# a never-registered address, 12 times"
u=$(n)@corpus.test
for i in $(seq 1 12); do
	gt_post "login:unknown#$i" "$B/accounts/login/" "$B/accounts/login/" "${ref[@]}" \
		--data-urlencode "login=$u" -d password=wrong
done | awk '{$1=""; $4=""; print}' | sort | uniq -c
