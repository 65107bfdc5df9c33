-- Throttle counters that hold a key back are never trimmed, and a
-- long-lived count of failed second steps. Times are BIGINT Unix
-- microseconds, UTC, as in 001.

-- hold_until is when the wait a counter imposes ends (0: it imposes
-- none). TrimCounters deletes only counters whose hold has ended: a
-- flood of made-up identifiers must not evict an address's lock.
ALTER TABLE counters ADD COLUMN hold_until BIGINT NOT NULL DEFAULT 0;

-- Failed second steps of sign-in since the last correct one or the last
-- new password. Unlike the hourly MFA limit it never expires: at
-- flow.Limits.MFALock (limit_mfa_lock) the second step is refused until a
-- reset.
ALTER TABLE totp ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
