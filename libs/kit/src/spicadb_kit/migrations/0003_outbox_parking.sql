-- Rows the relay cannot publish (larger than NATS takes, refused by JetStream, failing again and
-- again while the rows after them go through) are set aside instead of blocking the rows behind
-- them: `spicadb outbox list|retry|discard` shows them and puts them back in line.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz;
ALTER TABLE outbox ADD COLUMN park_reason text;

-- The relay claims rows neither published nor parked.
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL;
