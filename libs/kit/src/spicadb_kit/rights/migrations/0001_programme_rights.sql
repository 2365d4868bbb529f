-- This service's copy of the data rights the programmes service owns: who is in each programme and
-- how long its data stay proprietary. Kept from the programmes events (the latest state per programme).
CREATE TABLE programme_rights (
    programme_id        uuid PRIMARY KEY,
    code                text NOT NULL UNIQUE,
    title               text NOT NULL DEFAULT '',
    pi                  text NOT NULL DEFAULT '',
    public              boolean NOT NULL DEFAULT false,
    proprietary_months  integer NOT NULL,
    -- user names of every member (PI included)
    members             text[] NOT NULL DEFAULT '{}',
    -- the aggregate version of the last event applied (events of one programme arrive in order)
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX programme_rights_members ON programme_rights USING gin (members);
