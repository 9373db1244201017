-- Browser approvals (store/approval.rs): the RFC 8628 grants behind `--web` and passkey
-- enrolment, and the one-use step-up tokens they end in, shared by every instance on
-- this database so that the start, the approval page, the poll and the token's use may
-- each reach another one. A device code and a token are kept as their SHA-256 only;
-- `body` and `ceremony` are sealed with the server key. Runtime state: not in backups,
-- untouched by a restore (store/postgres/mod.rs, INTERNAL_TABLES). Times are Unix ms;
-- a row past `expires` is ignored and deleted some time later.
CREATE TABLE approval_grants (
    user_code TEXT PRIMARY KEY,
    device_hash TEXT NOT NULL UNIQUE,
    client_addr TEXT,
    login BOOLEAN NOT NULL,
    started_at BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    interval_ms BIGINT NOT NULL,
    last_poll BIGINT,
    body BYTEA NOT NULL,
    ceremony BYTEA
);
CREATE INDEX approval_grants_expires ON approval_grants (expires);
CREATE INDEX approval_grants_client_addr ON approval_grants (client_addr);
CREATE TABLE approval_tokens (
    hash TEXT PRIMARY KEY,
    operator_id BIGINT NOT NULL,
    session_id BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX approval_tokens_expires ON approval_tokens (expires);
