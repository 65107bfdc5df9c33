-- How each session was made, the factors its sign-in proved: the password
-- alone ('password'), the password and a second step ('second_step': an
-- authenticator code, a recovery code or a passkey), or a passkey sign-in
-- with the authenticator's check of its holder ('passkey'). The forward
-- auth rule mfa lets through only the last two. A session made before
-- this column existed cannot say, so it counts as the password alone: on
-- an mfa host its owner signs in again, once.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password'
    CHECK (method IN ('password', 'second_step', 'passkey'));
