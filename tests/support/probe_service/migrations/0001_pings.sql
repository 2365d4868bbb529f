CREATE TABLE ping (
    ping_id     text PRIMARY KEY,
    sequence    bigint      NOT NULL,
    note        text        NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL
);

-- One row per application of the consumer's effect: no unique key on purpose, so that a
-- second application of the same event would show as a second row.
CREATE TABLE ping_effect (
    ping_id    text        NOT NULL,
    event_id   uuid        NOT NULL,
    version    bigint      NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ping_effect_ping ON ping_effect (ping_id);

-- A poison ping fails in the consumer until it is cured (tests of dead letters and replay).
CREATE TABLE ping_cure (ping_id text PRIMARY KEY);
