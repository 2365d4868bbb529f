-- Browser sessions: the cookie holds an opaque id; only its sha256 is stored, so a copy of this
-- table does not let anyone in. The tokens are those the auth service issued for the session.
CREATE TABLE session (
    id_hash           bytea       PRIMARY KEY,
    subject           text        NOT NULL,
    client_id         text        NOT NULL,
    scope             text        NOT NULL,
    access_token      text        NOT NULL,
    refresh_token     text,
    access_expires_at timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    refreshed_at      timestamptz,
    expires_at        timestamptz NOT NULL
);
CREATE INDEX session_expires_at ON session (expires_at);

-- A code + PKCE flow in progress: state -> verifier and where to go afterwards (ten minutes).
CREATE TABLE login_state (
    state         text        PRIMARY KEY,
    code_verifier text        NOT NULL,
    next_path     text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Access tokens revoked before they expire (auth.token.revoked events); every replica reads new rows
-- by seq, so the in-memory set of each one converges whichever replica consumed the event.
CREATE TABLE revoked_token (
    jti        text        PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    seq        bigserial   NOT NULL UNIQUE,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_token_expires_at ON revoked_token (expires_at);
