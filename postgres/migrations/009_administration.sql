-- Administration and account deletion.

-- The highest ID a deleted account had (one row, none until an account
-- is deleted). SQLite needs it so that no new
-- account gets a deleted one's ID (see the SQLite migration of the same
-- number); PostgreSQL's identity column never reuses an ID, and keeps
-- the table only so both schemas match.
CREATE TABLE account_ids (
    highest_deleted BIGINT NOT NULL
);

-- Each account's activity: an append-only log of what happened on it
-- (signed in, password or address changed, two-step sign-in turned on or
-- off, sessions ended, operator actions), shown to the owner and to
-- operators. Housekeeping purges events older than the retention period;
-- deleting the account deletes its events.
CREATE TABLE events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    at         BIGINT NOT NULL,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    count      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX events_account_id ON events (account_id, at);
-- Purge deletes by time.
CREATE INDEX events_at ON events (at);
