-- The auth service: accounts, clients, signing keys, grants in flight, sessions, audit.
-- Secrets are never stored: passwords as argon2 hashes, client secrets, refresh tokens,
-- authorization codes and session ids as SHA-256 digests of high-entropy random values.

CREATE TABLE account (
    username      text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    password_hash text,                              -- NULL: signs in only through the upstream provider
    roles         text[]      NOT NULL DEFAULT '{}',
    name          text        NOT NULL DEFAULT '',
    email         text        NOT NULL DEFAULT '',
    origin        text        NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'upstream')),
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- An account of the upstream OpenID provider mapped to a local account.
CREATE TABLE upstream_identity (
    issuer     text        NOT NULL,
    subject    text        NOT NULL,
    username   text        NOT NULL REFERENCES account (username),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);

CREATE TABLE client (
    client_id         text PRIMARY KEY CHECK (client_id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    name              text        NOT NULL DEFAULT '',
    secret_hash       text,                          -- NULL: a public client (PKCE, no secret)
    scopes            text[]      NOT NULL,
    grant_types       text[]      NOT NULL,
    redirect_uris     text[]      NOT NULL DEFAULT '{}',
    disabled_at       timestamptz,
    secret_rotated_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Signing keys: next (published, not signing yet) -> current (signing) -> retired (published
-- until every token it signed has expired, then deleted).
CREATE TABLE signing_key (
    kid          text PRIMARY KEY,
    alg          text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    private_jwk  jsonb       NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    retired_at   timestamptz,
    drop_after   timestamptz
);
CREATE UNIQUE INDEX signing_key_one_current ON signing_key (state) WHERE state = 'current';
CREATE UNIQUE INDEX signing_key_one_next ON signing_key (state) WHERE state = 'next';

CREATE TABLE authorization_code (
    code_hash             text PRIMARY KEY,
    client_id             text        NOT NULL REFERENCES client (client_id),
    username              text        NOT NULL REFERENCES account (username),
    redirect_uri          text,
    scope                 text        NOT NULL,
    code_challenge        text,
    code_challenge_method text,
    nonce                 text,
    auth_time             timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    used_at               timestamptz,
    family_id             uuid                   -- the grant its tokens belong to, once exchanged
);
CREATE INDEX authorization_code_nonce ON authorization_code (client_id, nonce) WHERE nonce IS NOT NULL;
CREATE INDEX authorization_code_expires ON authorization_code (expires_at);

-- Refresh tokens: one family per original grant; each refresh uses one and issues the next.
CREATE TABLE refresh_token (
    token_hash text PRIMARY KEY,
    family_id  uuid        NOT NULL,
    client_id  text        NOT NULL REFERENCES client (client_id),
    username   text        NOT NULL REFERENCES account (username),
    scope      text        NOT NULL,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_token_family ON refresh_token (family_id);
CREATE INDEX refresh_token_expires ON refresh_token (expires_at);

-- Access tokens issued (by jti), kept until they expire: revocation of a grant reaches them.
CREATE TABLE access_token (
    jti        text PRIMARY KEY,
    family_id  uuid,
    client_id  text        NOT NULL,
    subject    text        NOT NULL,
    scope      text        NOT NULL,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX access_token_family ON access_token (family_id) WHERE family_id IS NOT NULL;
CREATE INDEX access_token_subject ON access_token (subject);
CREATE INDEX access_token_expires ON access_token (expires_at);

-- Revoked access tokens, until they expire (introspection, the service's own verifier).
CREATE TABLE revoked_token (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    reason     text        NOT NULL
);
CREATE INDEX revoked_token_expires ON revoked_token (expires_at);

-- Browser sessions on the login page (cookie = random id, stored as its digest).
CREATE TABLE login_session (
    session_hash text PRIMARY KEY,
    username     text        NOT NULL REFERENCES account (username),
    auth_time    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    method       text        NOT NULL DEFAULT 'pwd'
);
CREATE INDEX login_session_username ON login_session (username);

CREATE TABLE login_failure (
    id        bigserial PRIMARY KEY,
    username  text        NOT NULL,
    address   text        NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failure_username ON login_failure (username, failed_at);
CREATE INDEX login_failure_address ON login_failure (address, failed_at);

-- A login delegated to the upstream provider, between the redirect and the callback.
CREATE TABLE upstream_login (
    state_hash    text PRIMARY KEY,
    code_verifier text        NOT NULL,
    nonce         text        NOT NULL,
    next_url      text        NOT NULL,
    expires_at    timestamptz NOT NULL
);

-- Every change made through the admin API (and by the bootstrap or a first upstream login).
CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,             -- the user name (or client id) of the token used
    actor_client text,                             -- the client the actor came through
    action      text        NOT NULL,
    target_type text        NOT NULL,
    target_id   text        NOT NULL,
    before      jsonb,
    after       jsonb,
    request_id  text
);
CREATE INDEX audit_target ON audit (target_type, target_id, id);
