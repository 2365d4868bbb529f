-- The event bus tables every service owns in its own schema: the transactional outbox,
-- the idempotent inbox, per-aggregate positions and the dead letters.

CREATE TABLE outbox (
    id                bigserial PRIMARY KEY,
    event_id          uuid        NOT NULL UNIQUE,   -- = CloudEvents id = Nats-Msg-Id
    event_type        text        NOT NULL,
    subject           text        NOT NULL,          -- NATS subject
    aggregate_type    text        NOT NULL,
    aggregate_id      text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    headers           jsonb       NOT NULL,          -- CloudEvents attributes and trace context
    payload           bytea       NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    published_at      timestamptz,
    stream_seq        bigint,
    attempts          integer     NOT NULL DEFAULT 0,
    last_error        text,
    UNIQUE (aggregate_type, aggregate_id, aggregate_version)
);

-- The relay claims by "not yet published", never by an id cursor: sequences commit out of order.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- The last version handed out per aggregate; the row lock serialises writers of one aggregate,
-- so versions follow commit order and survive the pruning of published outbox rows.
CREATE TABLE outbox_aggregate (
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    last_version   bigint NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Wake the relay once per transaction: identical notifications in one transaction are folded.
CREATE FUNCTION outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    event_type   text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE INDEX inbox_processed_at ON inbox (processed_at);

CREATE TABLE consumer_position (
    consumer       text   NOT NULL,
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    last_version   bigint NOT NULL,
    PRIMARY KEY (consumer, aggregate_type, aggregate_id)
);

CREATE TABLE dead_letter (
    id                  bigserial PRIMARY KEY,
    consumer            text        NOT NULL,
    event_id            uuid,                       -- NULL when the message could not be decoded
    event_type          text,
    subject             text        NOT NULL,
    stream_seq          bigint,
    deliveries          integer     NOT NULL,
    headers             jsonb       NOT NULL,
    payload             bytea       NOT NULL,
    error               text        NOT NULL,
    failed_at           timestamptz NOT NULL DEFAULT now(),
    replay_requested_at timestamptz,
    replayed_at         timestamptz,
    replay_error        text
);

CREATE INDEX dead_letter_open ON dead_letter (consumer, id) WHERE replayed_at IS NULL;
-- a message dead-lettered twice (its termination lost with the connection) is kept once
CREATE UNIQUE INDEX dead_letter_message ON dead_letter (consumer, stream_seq);
