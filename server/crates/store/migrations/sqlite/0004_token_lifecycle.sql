-- Admin tokens can expire and be revoked (the row stays, for the list and
-- the audit trail). `configured` marks the token that came from
-- EDDY_ADMIN_TOKEN: a start with a different one revokes it.
ALTER TABLE admin_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE admin_tokens ADD COLUMN revoked_at BIGINT;
ALTER TABLE admin_tokens ADD COLUMN configured BIGINT NOT NULL DEFAULT 0;

UPDATE admin_tokens SET configured = 1 WHERE label = 'EDDY_ADMIN_TOKEN';
