-- Contract 0.2 (issue 13): durable timers, per-app config, the timer
-- limit, and the contract and SDK versions of each deployment.
ALTER TABLE apps ADD COLUMN max_timers BIGINT NOT NULL DEFAULT 100;
ALTER TABLE deployments ADD COLUMN contract TEXT;
ALTER TABLE deployments ADD COLUMN sdk_version TEXT;

--
-- A timer fires once across the cluster: a node claims it (claimed_by,
-- claimed_until: a lease) before running its handler, and deletes it once
-- fired; a claim whose lease ran out (its node died mid-fire) is claimable
-- again. Replacing a timer clears its claim.
CREATE TABLE timers (
    app_id BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    -- The namespace it was set from: its hook emits there.
    namespace TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    payload BYTEA NOT NULL,
    claimed_by TEXT,
    claimed_until BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, key)
);
-- The due timers of every app, for the claim.
CREATE INDEX timers_due ON timers (due_at);

-- Handlers list keys in byte order (COLLATE "C", whatever the database's
-- collation): this index serves those pages without a scan and a sort.
CREATE INDEX kv_key_bytes ON kv (app_id, key COLLATE "C");

-- An app's config variables and secrets. Values are bytes as the server
-- gives them: a secret's value is ciphertext (the server encrypts it), and
-- is never returned by a listing. `secret` is 0 or 1.
CREATE TABLE app_config (
    app_id BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value BYTEA NOT NULL,
    secret BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, name)
);
