-- An admin may attach an observation to a programme (a line whose PROGRAM and target matched
-- nothing): who did and when. The attachment stands: matching the observation again (a corrected
-- log, targets arriving) keeps the programme the admin gave, until an admin gives another.
ALTER TABLE observation
    ADD COLUMN programme_assigned_by text,
    ADD COLUMN programme_assigned_at timestamptz;

CREATE FUNCTION observation_keep_assigned_programme() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.programme_assigned_by IS NOT NULL
       AND NEW.programme_assigned_at IS NOT DISTINCT FROM OLD.programme_assigned_at THEN
        NEW.programme := OLD.programme;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER observation_keep_assigned_programme BEFORE UPDATE OF programme ON observation
    FOR EACH ROW EXECUTE FUNCTION observation_keep_assigned_programme();
