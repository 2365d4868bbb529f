-- Early events: when this consumer first saw an event whose predecessor is still missing. The wait
-- before such an event is dead-lettered is counted from here, not from when NATS stored it (a backlog
-- caught up after an outage or a backfill is not dead at first sight), and survives a restart.
CREATE TABLE consumer_wait (
    consumer          text        NOT NULL,
    event_id          uuid        NOT NULL,
    aggregate_type    text        NOT NULL,
    aggregate_id      text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- A message is dead-lettered once while its letter is open; after `spicadb backfill --forget` an
-- event whose old letter was replayed may fail again, and then opens a new letter.
DROP INDEX dead_letter_message;
CREATE UNIQUE INDEX dead_letter_open_message ON dead_letter (consumer, stream_seq) WHERE replayed_at IS NULL;
