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
