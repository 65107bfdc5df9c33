-- The revocation generation: one number that grows whenever a transaction
-- commits that ends a session or changes what a signed-in identity shows
-- (its password or address), on any instance. Servers that cache
-- sessions for forward auth (flow.Service.CheckSession) read it at most
-- once per flow.RevocationBound and drop their cache when it moved, so a
-- session ended anywhere stops passing everywhere within that bound.
-- tacit bumps it itself, as the last statement of such a transaction: the
-- row lock is then held only while committing, so no transaction waits
-- for it while holding a lock another one needs.
CREATE TABLE revocations (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT  NOT NULL
);
INSERT INTO revocations (id, generation) VALUES (1, 0);

-- tacit's own disabling and deleting (tacit users, "delete my account")
-- bump it like any revoking transaction; these triggers make a change
-- made by hand in SQL end the account's cached sessions too.
CREATE FUNCTION tacit_bump_revocations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE revocations SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER accounts_disabled_revokes AFTER UPDATE OF disabled ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION tacit_bump_revocations();
CREATE TRIGGER accounts_deleted_revokes AFTER DELETE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION tacit_bump_revocations();
