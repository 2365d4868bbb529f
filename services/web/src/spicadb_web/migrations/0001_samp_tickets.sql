-- "Send to Aspro2/TOPCAT": the VOTable of a visitor's selected targets, kept a few minutes under an
-- unguessable ticket so that the receiving application (which has no cookie) can fetch it. Only the
-- ticket's sha256 is stored: a copy of this table gives no working URL. In the database (not in a
-- process's memory) so that every replica of the console serves every ticket.
CREATE TABLE samp_ticket (
    id_hash    bytea       PRIMARY KEY,
    subject    text        NOT NULL,
    name       text        NOT NULL,
    votable    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX samp_ticket_subject ON samp_ticket (subject, created_at);
CREATE INDEX samp_ticket_expires_at ON samp_ticket (expires_at);
