// Package mail delivers tacit's transactional outbox. Flows never send mail
// on the request path: they queue a tacit.Mail in the same transaction as
// the state change, and a Worker here claims it, renders it with a Renderer
// and hands it to a Sender (DevSender for the dev mailbox, SMTPSender for a
// real server).
//
// The Data each kind's templates read:
//
//	finish_signup           link (to choose a password); expires (optional, e.g. "24 hours")
//	verify                  link (to confirm the address); expires (optional)
//	already_registered      login (sign-in page), reset (password reset page)
//	reset_password          link (to choose a new password); expires (optional, e.g. "30 minutes")
//	reset_unknown           register (sign-up page)
//	password_changed        reset (password reset page)
//	confirm_email_change    link (to confirm the new address); expires (optional)
//	email_taken             login (sign-in page), reset (password reset page)
//	email_change_requested  new_email (the address asked for), reset (password reset page)
//	email_changed           new_email (the address now in use), reset (password reset page)
//	account_locked          reset (password reset page), until (when sign-in resumes, e.g. "2026-11-23 18:30 UTC")
//
// A key not marked optional must be present: rendering fails without it
// rather than sending a mail with an empty link.
//
// "expires" is also how the Worker knows a link's life: counted from the
// mail's CreatedAt, a link that has run out before delivery is dropped,
// not sent. Its form is "N minute(s)", "N hour(s)" or "N day(s)".
//
// Data carries secret tokens, so it is never logged; recipients appear in
// logs only masked (see MaskAddress).
package mail
