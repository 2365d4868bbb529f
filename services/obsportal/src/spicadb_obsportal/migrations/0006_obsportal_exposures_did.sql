-- obsportal.exposures gains obs_publisher_did, the L0 identifier (<SPICADB_L0_DID_PREFIX>?<observation
-- uuid>) that obsportal's SCS and search.votable answers end with, so a TAP result of exposures carries the
-- DataLink service descriptor those answers carry (the tap service adds one for a meta.ref.ivoid column).
-- The prefix is a setting: the service writes it into vo_naming when it starts (as oidb does).

CREATE TABLE vo_naming (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    l0_did_prefix  text NOT NULL
);
INSERT INTO vo_naming (l0_did_prefix) VALUES ('ivo://jmmc.fr/spicadb/l0');

CREATE OR REPLACE VIEW obsportal.exposures WITH (security_barrier) AS
SELECT
    e.exp_header_id || '_' || e.id AS exp_id,
    e.exp_header_id,
    e.mjd_start AS exp_mjd_start,
    e.mjd_end AS exp_mjd_end,
    e.projected_baselines AS exp_projected_baselines,
    (CASE e.level WHEN 'good' THEN 1 WHEN 'usable' THEN 2 WHEN 'degraded' THEN 3 WHEN 'bad' THEN 4 ELSE 0 END)
        AS exp_validation_level,
    e.validation_log AS exp_validation_log,
    e.tau0 AS exp_tau0,
    e.temperature AS exp_temperature,
    e.seeing AS exp_seeing,
    to_char((e.updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00:00"') AS exp_date_updated,
    to_char((CASE WHEN e.kind = 'calibrator' THEN e.date_end
                  WHEN e.programme IS NULL THEN e.date_end + make_interval(months => (SELECT u.unassigned_proprietary_months FROM rights_policy u))
                  ELSE e.date_end + make_interval(months => pr.proprietary_months) END) AT TIME ZONE 'UTC',
            'YYYY-MM-DD HH24:MI:SS"+00:00"')
        AS exp_date_release,
    e.id AS obs_id,
    e.kind AS obs_type,
    coalesce(e.programme, '') AS obs_program,
    coalesce(pr.title, '') AS obs_program_title,
    coalesce(pr.pi, '') AS obs_program_pi_coi,
    'CHARA'::text AS interferometer_name,
    array_to_string(e.stations, ' ') AS interferometer_stations,
    'SPICA'::text AS instrument_name,
    e.mode AS instrument_mode,
    ''::text AS instrument_submode,
    e.em_min AS instrument_em_min,
    e.em_max AS instrument_em_max,
    e.resolving_power AS instrument_em_res_power,
    e.target_id,
    (SELECT t.name FROM target t WHERE t.id = e.target_id) AS target_name,
    e.ra AS target_ra,
    e.dec AS target_dec,
    -- SPICA-DB's: the night-log observation (a DataLink ID), the night
    e.observation_id::text AS observation_id,
    e.night,
    -- the L0 identifier obsportal's VO answers give (their last column), a DataLink ID
    (SELECT n.l0_did_prefix FROM vo_naming n) || '?' || e.observation_id::text AS obs_publisher_did
FROM exposure e
LEFT JOIN programme_rights pr ON pr.code = e.programme
WHERE NOT e.withdrawn
  AND ((coalesce(current_setting('spicadb.sees_all', true), '') = 'on') OR ((e.kind = 'calibrator') AND e.date_end <= now()) OR (e.programme IS NULL AND e.date_end + make_interval(months => (SELECT p.unassigned_proprietary_months FROM rights_policy p)) <= now()) OR (pr.code IS NOT NULL AND (e.date_end + make_interval(months => pr.proprietary_months) <= now() OR nullif(current_setting('spicadb.viewer', true), '') = ANY(pr.members))));
