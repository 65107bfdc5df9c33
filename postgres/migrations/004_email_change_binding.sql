-- An email change is bound to what asked for it: the account's password
-- stamp (PasswordStamp of its hash) when it was asked, and the session
-- that asked. A change of password, or the end of that session, kills it,
-- so a thief who signed in with a stolen password cannot move the account
-- after the owner has taken it back.

-- Changes asked before this migration are bound to nothing: they die.
-- The owner can ask again.
DELETE FROM email_changes;

-- Ending the session that asked deletes the change with it (logout, "sign
-- out" of one device or of all others, expiry).
ALTER TABLE email_changes
    ADD COLUMN session_id BIGINT REFERENCES sessions (id) ON DELETE CASCADE,
    ADD COLUMN password_stamp BYTEA NOT NULL DEFAULT ''::bytea;
-- Deleting a session looks up its email changes.
CREATE INDEX email_changes_session_id ON email_changes (session_id);
