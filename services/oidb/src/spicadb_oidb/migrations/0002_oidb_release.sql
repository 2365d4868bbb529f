-- The release date and data rights of the OiDB table follow the kit's one rule (rights_release):
-- granules of no programme are released a default period after their observation (they stayed
-- secure with no release date for ever), calibrators when observed, a programme's granules its
-- proprietary period after their observation.
CREATE OR REPLACE VIEW oidb_granule AS
SELECT
    g.id, g.dataproduct_type, g.calib_level, g.target_name, g.obs_id, g.obs_collection, g.obs_creator_name,
    r.release AS obs_release_date,
    g.obs_publisher_did, g.bib_reference,
    (CASE WHEN r.release <= now() THEN 'public' ELSE 'secure' END)::text AS data_rights,
    g.access_url, g.access_format, g.access_estsize, g.s_ra, g.s_dec, g.s_fov, g.s_region, g.s_resolution,
    g.t_min, g.t_max, g.t_exptime, g.t_resolution, g.em_min, g.em_max, g.em_res_power, g.o_ucd,
    g.pol_states, g.facility_name, g.instrument_name, g.instrument_mode, g.quality_level, g.nb_channels,
    g.nb_vis, g.nb_vis2, g.nb_t3, g.keywords, g.subdate, g.progid,
    p.pi AS datapi,
    g.access_md5, g.interferometer_stations,
    g.t_exptime_total, g.granule_id, g.file_id, g.night, g.programme, g.dataproduct_category, g.nb_flux,
    g.proposal_subid, g.observation_ids, g.observation_quality, g.file_quality_level, g.superseded,
    g.previews, g.obs_end, g.updated_at, g.access_size, g.superseded_by, g.superseded_at
FROM granule g
LEFT JOIN programme_rights p ON p.code = g.programme
CROSS JOIN LATERAL (
    SELECT rights_release(g.programme, g.obs_end, g.dataproduct_category = 'CALIB') AS release
) r;
