-- A session's tokens are sealed at rest: AES-256-GCM under the gateway's session_key, with the row's
-- id_hash as associated data (nonce || ciphertext || tag). With the cookie's id stored only as its sha256,
-- a copy of this table lets no one in without the key. Sessions stored in clear until now are ended
-- (their browsers sign in again).
DELETE FROM session;
ALTER TABLE session DROP COLUMN access_token, DROP COLUMN refresh_token;
ALTER TABLE session ADD COLUMN access_token bytea NOT NULL, ADD COLUMN refresh_token bytea;
