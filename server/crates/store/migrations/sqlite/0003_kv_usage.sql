-- A running total of each app's key-value data (keys plus values, and the
-- number of keys), kept in the transaction of every write so the quota
-- check reads one row instead of summing the app's entries. It counts what
-- is stored, expired-but-not-yet-swept entries included; a write that would
-- go over the quota first drops the app's expired entries.
CREATE TABLE kv_usage (
    app_id BIGINT NOT NULL PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    bytes BIGINT NOT NULL,
    keys BIGINT NOT NULL
);

INSERT INTO kv_usage (app_id, bytes, keys)
SELECT apps.id,
       CAST(COALESCE((SELECT SUM(kv.size) FROM kv WHERE kv.app_id = apps.id), 0) AS BIGINT),
       (SELECT COUNT(*) FROM kv WHERE kv.app_id = apps.id)
FROM apps;

-- One app's expired entries, for the purge before a refusal.
CREATE INDEX kv_app_expiry ON kv (app_id, expires_at) WHERE expires_at IS NOT NULL;
