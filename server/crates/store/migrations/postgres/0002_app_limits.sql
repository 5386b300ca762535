-- Limits added by the hardening release: rooms per socket, room-name
-- length, namespaces per app, and the browser origins allowed to connect
-- (one per line; empty allows any origin without credentials).
ALTER TABLE apps ADD COLUMN max_rooms_per_socket BIGINT NOT NULL DEFAULT 128;
ALTER TABLE apps ADD COLUMN max_room_name_bytes BIGINT NOT NULL DEFAULT 256;
ALTER TABLE apps ADD COLUMN max_namespaces BIGINT NOT NULL DEFAULT 64;
ALTER TABLE apps ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '';
