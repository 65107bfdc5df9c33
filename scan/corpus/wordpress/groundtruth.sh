#!/usr/bin/env bash
# Takes WordPress's ground truth by hand: each account endpoint with the
# known account (alice@corpus.test) and never-registered addresses, and
# prints what differs. Run after install.sh and start.sh; sign-up creates
# accounts, so run install.sh again for a clean state.
. "$(dirname "$0")/../common.sh"
B=http://127.0.0.1:${WORDPRESS_PORT:-8402}
n() { echo "gt$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
echo "# sign-in (wrong password), by email address and by user name"
for i in 1 2 3; do
	for u in alice@corpus.test "$(n)@corpus.test" alice "$(n)"; do
		gt_post "login:$u" "$B/wp-login.php" "$B/wp-login.php" --data-urlencode "log=$u" \
			-d pwd=Wrong-Passw0rd-xyz -d wp-submit=Log+In -d "redirect_to=$B/wp-admin/" -d testcookie=1
	done
done
echo "# sign-up: address taken vs free (fresh user name each time)"
for i in 1 2; do
	for e in alice@corpus.test "$(n)@corpus.test"; do
		gt_post "register:$e" "$B/wp-login.php?action=register" "$B/wp-login.php?action=register" \
			--data-urlencode "user_login=$(n)" --data-urlencode "user_email=$e" -d redirect_to= -d wp-submit=Register
	done
done
echo "# sign-up: user name taken"
gt_post "register:login=alice" "$B/wp-login.php?action=register" "$B/wp-login.php?action=register" \
	-d user_login=alice --data-urlencode "user_email=$(n)@corpus.test" -d redirect_to= -d wp-submit=Register
echo "# password reset (lostpassword)"
for i in 1 2; do
	for u in alice@corpus.test "$(n)@corpus.test"; do
		gt_post "reset:$u" "$B/wp-login.php?action=lostpassword" "$B/wp-login.php?action=lostpassword" \
			--data-urlencode "user_login=$u" -d redirect_to= -d wp-submit=Get+New+Password
	done
done
echo "# lockout: 12 wrong passwords for alice, then the right one"
for i in $(seq 1 12); do
	curl -s -o /dev/null -b 'wordpress_test_cookie=WP%20Cookie%20check' "$B/wp-login.php" \
		-d log=alice@corpus.test -d pwd=wrong -d testcookie=1
done
gt_post "login:alice-right" "$B/wp-login.php" "$B/wp-login.php" -d log=alice@corpus.test \
	--data-urlencode 'pwd=Corpus-Passw0rd!' -d "redirect_to=$B/wp-admin/" -d testcookie=1
echo "# reset rate limit: 10 more resets for alice"
for i in $(seq 1 10); do
	gt_post "reset:alice#$i" "$B/wp-login.php?action=lostpassword" "$B/wp-login.php?action=lostpassword" \
		-d user_login=alice@corpus.test -d redirect_to= -d wp-submit=Get+New+Password
done | awk '{$1=""; $4=""; print}' | sort | uniq -c
