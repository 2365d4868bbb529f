-- The programmes' targets copy made correct without an order between its events, and kept matched.

-- targets the programmes deleted. targets.imported and target.changed are events of different aggregates,
-- in no order between them: a deletion applied before the import that created its target must win when
-- the import arrives (target ids are never reused)
CREATE TABLE programme_target_deleted (
    target_id     uuid PRIMARY KEY,
    programme_id  uuid NOT NULL,
    deleted_at    timestamptz NOT NULL DEFAULT now()
);

-- bumped by every change of the targets copy (its row lock held to the end of that transaction); a log
-- reads it FOR SHARE once its night is locked, and matches again when the copy changed since it matched
CREATE TABLE target_copy_generation (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation  bigint NOT NULL
);
INSERT INTO target_copy_generation (only_row, generation) VALUES (true, 0);

-- the observations a change of the targets copy may match now (unmatched, or matched by position)
CREATE INDEX observation_rematch ON observation (site, night)
    WHERE withdrawn_in IS NULL AND matched_by IN ('none', 'position');
