-- ivoa.obscore and spicadb.links with the rights condition read from the programme row joined once per row
-- (rights.published_visible_joined_sql: LEFT JOIN programme_rights pr ON pr.code = g.programme, code being
-- unique) instead of rights.published_visible_sql's EXISTS, which PostgreSQL runs under the OR as a subquery
-- per row: most of a large read's time. The same rows for every viewer (the views' tests hold them to
-- published_visible_sql), the same columns in the same order; still security_barrier views.

CREATE OR REPLACE VIEW ivoa.obscore WITH (security_barrier) AS
SELECT
    -- the 30 mandatory columns of ObsCore 1.1, in the standard's order
    coalesce(g.dataproduct_type, 'visibility') AS dataproduct_type,
    g.calib_level,
    g.obs_collection,
    coalesce(g.obs_id, g.file_id::text) AS obs_id,
    g.obs_publisher_did,
    g.access_url,
    coalesce(g.access_format, 'application/fits') AS access_format,
    g.access_estsize,
    g.target_name,
    g.s_ra,
    g.s_dec,
    -- the field of a single-mode interferometer: the beam of one of CHARA's 1 m telescopes (lambda/D at
    -- the longest wavelength) when the file gives none
    coalesce(g.s_fov, degrees(coalesce(g.em_max, 1.0e-6) / 1.0)) AS s_fov,
    -- the same expression as the index granule_region
    scircle(spoint(radians(g.s_ra), radians(g.s_dec)),
            radians(least(greatest(coalesce(g.s_fov, degrees(coalesce(g.em_max, 1.0e-6) / 1.0)), 0.0), 180.0) / 2))
        AS s_region,
    g.s_resolution,
    NULL::bigint AS s_xel1,
    NULL::bigint AS s_xel2,
    g.t_min,
    g.t_max,
    -- ObsCore's meaning: the total exposure (OiDB's t_exptime, the shortest INT_TIME, is t_exptime_min)
    coalesce(g.t_exptime_total, g.t_exptime) AS t_exptime,
    g.t_resolution,
    NULL::bigint AS t_xel,
    g.em_min,
    g.em_max,
    g.em_res_power,
    g.nb_channels::bigint AS em_xel,
    g.o_ucd,
    g.pol_states,
    NULL::bigint AS pol_xel,
    g.facility_name,
    g.instrument_name,
    -- the optional columns taplint checks
    x.release AS obs_release_date,
    (CASE WHEN x.release <= now() THEN 'public' ELSE 'secure' END)::text AS data_rights,
    coalesce(g.programme, g.progid) AS proposal_id,
    g.obs_creator_name,
    (CASE WHEN g.dataproduct_category = 'CALIB' THEN 'calibrator' ELSE 'science' END)::text AS target_class,
    (CASE WHEN g.em_res_power > 0 THEN (g.em_min + g.em_max) / 2 / g.em_res_power END) AS em_resolution,
    g.bib_reference,
    -- OiDB's extension columns
    g.instrument_mode,
    g.quality_level,
    g.interferometer_stations,
    g.nb_channels,
    g.nb_vis,
    g.nb_vis2,
    g.nb_t3,
    g.nb_flux,
    g.progid,
    pr.pi AS datapi,
    g.dataproduct_category,
    g.proposal_subid,
    g.keywords,
    g.access_md5,
    g.t_exptime AS t_exptime_min,
    g.subdate,
    -- SPICA-DB's
    g.night,
    g.file_id::text AS file_id
FROM granule g
LEFT JOIN programme_rights pr ON pr.code = g.programme
-- rights.release_sql with the programme joined once
CROSS JOIN LATERAL (
    SELECT CASE WHEN g.dataproduct_category = 'CALIB' THEN g.obs_end
                WHEN g.programme IS NULL THEN g.obs_end + make_interval(months => (SELECT u.unassigned_proprietary_months FROM rights_policy u))
                ELSE g.obs_end + make_interval(months => pr.proprietary_months) END AS release
) x
WHERE NOT g.superseded
  AND ((coalesce(current_setting('spicadb.sees_all', true), '') = 'on') OR ((g.dataproduct_category = 'CALIB') AND g.obs_end <= now()) OR (g.programme IS NULL AND g.obs_end + make_interval(months => (SELECT p.unassigned_proprietary_months FROM rights_policy p)) <= now()) OR (pr.code IS NOT NULL AND (g.obs_end + make_interval(months => pr.proprietary_months) <= now() OR nullif(current_setting('spicadb.viewer', true), '') = ANY(pr.members))));

-- L0 <-> L2, the same rule on the same join
CREATE OR REPLACE VIEW spicadb.links WITH (security_barrier) AS
SELECT
    o.observation_id::text AS observation_id,
    (SELECT n.l0_did_prefix FROM vo_naming n) || '?' || o.observation_id::text AS l0_did,
    g.obs_publisher_did,
    g.granule_id::text AS granule_id,
    g.file_id::text AS file_id,
    g.night,
    g.programme,
    g.target_name,
    g.instrument_mode
FROM granule g
CROSS JOIN LATERAL unnest(g.observation_ids) AS o(observation_id)
LEFT JOIN programme_rights pr ON pr.code = g.programme
WHERE NOT g.superseded
  AND ((coalesce(current_setting('spicadb.sees_all', true), '') = 'on') OR ((g.dataproduct_category = 'CALIB') AND g.obs_end <= now()) OR (g.programme IS NULL AND g.obs_end + make_interval(months => (SELECT p.unassigned_proprietary_months FROM rights_policy p)) <= now()) OR (pr.code IS NOT NULL AND (g.obs_end + make_interval(months => pr.proprietary_months) <= now() OR nullif(current_setting('spicadb.viewer', true), '') = ANY(pr.members))));
