-- Administration and account deletion.

-- The highest ID a deleted account had (one row, none until an account
-- is deleted). SQLite gives a new row the
-- highest ID in the table plus one, so without it the next account
-- would get the ID of a newest account just deleted, and an application
-- that keys its own data by account ID would hand the old owner's data
-- to a stranger. New accounts are numbered above it (sqlstore's
-- Dialect.NewAccountID); PostgreSQL's identity column never reuses an
-- ID, and keeps the table only so both schemas match.
CREATE TABLE account_ids (
    highest_deleted INTEGER NOT NULL
);

-- Each account's activity: an append-only log of what happened on it
-- (signed in, password or address changed, two-step sign-in turned on or
-- off, sessions ended, operator actions), shown to the owner and to
-- operators. Housekeeping purges events older than the retention period;
-- deleting the account deletes its events.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    count      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_account_id ON events (account_id, at);
-- Purge deletes by time.
CREATE INDEX events_at ON events (at);
