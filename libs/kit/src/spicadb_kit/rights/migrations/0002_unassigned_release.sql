-- Data of no programme (a file or an observation nobody attached to a programme) are not kept secret
-- for ever: they are released a default proprietary period after the end of their observation, as
-- ESO's archive releases data after its standard period and JMMC's OiDB shows them. The period is the
-- setting SPICADB_UNASSIGNED_PROPRIETARY_MONTHS, written here by the service at start
-- (spicadb_kit.rights.apply_policy). Calibrators are released when observed.
CREATE TABLE rights_policy (
    singleton                      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    unassigned_proprietary_months  integer NOT NULL DEFAULT 12 CHECK (unassigned_proprietary_months >= 0),
    updated_at                     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rights_policy DEFAULT VALUES;

-- The release date of a row of data (the rule of spicadb_kit.rights, for views and select lists):
-- a calibrator when observed; data of no programme the default period after the end of their
-- observation; data of a programme its proprietary period after it; NULL while the programme is
-- unknown to this copy (not announced yet).
CREATE FUNCTION rights_release(programme text, obs_end timestamptz, calibrator boolean DEFAULT false)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path FROM CURRENT
AS $$
    SELECT CASE
        WHEN calibrator THEN obs_end
        WHEN programme IS NULL THEN obs_end + make_interval(
            months => (SELECT p.unassigned_proprietary_months FROM rights_policy p))
        ELSE (SELECT obs_end + make_interval(months => r.proprietary_months)
              FROM programme_rights r WHERE r.code = programme)
    END
$$;
