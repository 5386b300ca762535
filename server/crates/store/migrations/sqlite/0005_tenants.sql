-- Tenants own apps; every app that existed before moves to `default`, whose
-- quota is the platform ceilings (100,000 apps each at the app ceilings:
-- nothing that ran before is refused).
-- Admin tokens gain a role and a scope: a tenant, and optionally a list of
-- that tenant's apps (`app_scoped`; the list is `admin_token_apps`, and an
-- app-scoped token whose apps were all deleted reaches none). Tokens that
-- existed before are platform admins, as they were.
CREATE TABLE tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    max_apps BIGINT NOT NULL,
    max_connections BIGINT NOT NULL,
    max_handler_memory_mb BIGINT NOT NULL,
    kv_quota_bytes BIGINT NOT NULL
);

-- The first row of a new table: id 1, the default of apps.tenant_id below.
INSERT INTO tenants (slug, name, created_at, max_apps, max_connections, max_handler_memory_mb, kv_quota_bytes)
VALUES ('default', 'Default', CAST(strftime('%s', 'now') AS BIGINT) * 1000,
        100000, 100000000000, 409600000, 1000000000000000);

-- SQLite refuses a REFERENCES clause on an added column with a non-null
-- default; the store keeps apps.tenant_id pointing at a tenant (a tenant
-- with apps cannot be deleted).
ALTER TABLE apps ADD COLUMN tenant_id BIGINT NOT NULL DEFAULT 1;
CREATE INDEX apps_by_tenant ON apps (tenant_id);

ALTER TABLE admin_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'platform-admin';
ALTER TABLE admin_tokens ADD COLUMN tenant_id BIGINT REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE admin_tokens ADD COLUMN app_scoped BIGINT NOT NULL DEFAULT 0;

CREATE TABLE admin_token_apps (
    token_id BIGINT NOT NULL REFERENCES admin_tokens (id) ON DELETE CASCADE,
    app_id BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, app_id)
);

-- Which tenant an audit entry belongs to, so a tenant reads its own history
-- (an app's slug may later belong to another tenant). Null: platform-wide.
ALTER TABLE audit_log ADD COLUMN tenant_id BIGINT;
UPDATE audit_log SET tenant_id = 1 WHERE app IS NOT NULL;
CREATE INDEX audit_by_tenant ON audit_log (tenant_id, id);
