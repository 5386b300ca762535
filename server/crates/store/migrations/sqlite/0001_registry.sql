-- The registry. Times are milliseconds since the Unix epoch.
CREATE TABLE apps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    max_connections BIGINT NOT NULL,
    max_events_per_second BIGINT NOT NULL,
    max_payload BIGINT NOT NULL,
    handler_deadline_ms BIGINT NOT NULL,
    handler_memory_mb BIGINT NOT NULL,
    kv_quota_bytes BIGINT NOT NULL,
    active_version BIGINT
);

CREATE TABLE app_keys (
    app_id BIGINT NOT NULL PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    public_key TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    rotated_at BIGINT NOT NULL
);

CREATE TABLE artifacts (
    hash TEXT NOT NULL PRIMARY KEY,
    size BIGINT NOT NULL,
    bytes BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE deployments (
    app_id BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    hash TEXT NOT NULL REFERENCES artifacts (hash),
    size BIGINT NOT NULL,
    status TEXT NOT NULL,
    notes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    activated_at BIGINT,
    PRIMARY KEY (app_id, version)
);

CREATE TABLE kv (
    app_id BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    size BIGINT NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (app_id, key)
);
CREATE INDEX kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE admin_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    app TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_by_app ON audit_log (app, id);
