-- Login throttling's counters (store/throttle.rs), shared by every instance on this
-- database so that N instances do not allow N times the guesses. Named by a keyed hash,
-- never by a username or an address. Runtime state: not in backups, untouched by a
-- restore (store/postgres/mod.rs, INTERNAL_TABLES). A row whose `at` is NULL holds no
-- counter (it is there to be locked); `touched` is when any update last held it, and
-- rows untouched for longer than any counter matters are pruned.
CREATE TABLE login_throttle (
    key BYTEA PRIMARY KEY,
    tokens DOUBLE PRECISION,
    failures INTEGER,
    locked_until BIGINT,
    at BIGINT,
    touched BIGINT NOT NULL
);
CREATE INDEX login_throttle_touched ON login_throttle (touched);
