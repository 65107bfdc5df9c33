-- Administration and account deletion.

-- The highest ID a deleted account had (one row, none until an account
-- is deleted). SQLite needs it so that no new
-- account gets a deleted one's ID (see the SQLite migration of the same
-- number); PostgreSQL's identity column never reuses an ID, and keeps
-- the table only so both schemas match.
CREATE TABLE account_ids (
    highest_deleted BIGINT NOT NULL
);
