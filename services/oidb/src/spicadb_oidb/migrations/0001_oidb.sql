-- The OiDB table: one row per granule (target x INSNAME x night of a reduced OIFITS file), with the
-- columns of JMMC's OiDB (conf/oidb.sql) in the issue's order, then SPICA-DB's own. Kept from the
-- oifits events; quality from the night logs' flags; rights from the kit's programme_rights (same
-- schema). obs_release_date, data_rights and datapi depend on the programme and are computed by the
-- view oidb_granule below, so a changed proprietary period or PI applies at once.

CREATE TABLE granule (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataproduct_type         text,
    calib_level              integer NOT NULL CHECK (calib_level BETWEEN 0 AND 3),
    target_name              text NOT NULL,
    obs_id                   text,
    obs_collection           text NOT NULL,
    -- who pushed the file
    obs_creator_name         text,
    -- (obs_release_date: the view)
    obs_publisher_did        text NOT NULL UNIQUE,
    bib_reference            text,
    -- (data_rights: the view)
    access_url               text NOT NULL,
    access_format            text,
    -- kB: the file's size div 1000, as OiDB
    access_estsize           bigint,
    s_ra                     double precision CHECK (s_ra >= 0 AND s_ra < 360),
    s_dec                    double precision CHECK (s_dec BETWEEN -90 AND 90),
    s_fov                    double precision,
    -- STC-S when known
    s_region                 text,
    s_resolution             double precision,
    -- MJD (double: OiDB's real loses the seconds)
    t_min                    double precision NOT NULL,
    t_max                    double precision NOT NULL,
    -- OiDB's meaning: the shortest INT_TIME of the granule's rows (seconds); the total is t_exptime_total
    t_exptime                double precision,
    t_resolution             double precision,
    em_min                   double precision,
    em_max                   double precision,
    em_res_power             double precision,
    o_ucd                    text,
    pol_states               text,
    facility_name            text,
    instrument_name          text,
    instrument_mode          text,
    -- the effective level (0 Unknown .. 5 Outstanding): oidb_quality_level() of the DRS's level and the
    -- worst flag of the linked observations
    quality_level            integer NOT NULL DEFAULT 0,
    nb_channels              integer NOT NULL,
    nb_vis                   integer,
    nb_vis2                  integer,
    nb_t3                    integer,
    keywords                 text,
    -- when the file was pushed
    subdate                  timestamptz NOT NULL,
    progid                   text,
    -- (datapi: the view)
    access_md5               varchar(32),
    interferometer_stations  text,
    -- SPICA-DB's own columns
    t_exptime_total          double precision,
    granule_id               uuid NOT NULL UNIQUE,
    file_id                  uuid NOT NULL,
    night                    date NOT NULL,
    programme                text,
    dataproduct_category     text NOT NULL DEFAULT 'SCIENCE' CHECK (dataproduct_category IN ('SCIENCE', 'CALIB')),
    nb_flux                  integer,
    proposal_subid           text,
    observation_ids          uuid[] NOT NULL DEFAULT '{}',
    -- the worst flag of the linked observations: bad > degraded > usable > good > unknown
    observation_quality      text NOT NULL DEFAULT 'unknown',
    -- HIERARCH QUALITY LEVEL as the DRS wrote it (NULL: not written)
    file_quality_level       integer CHECK (file_quality_level BETWEEN 0 AND 5),
    superseded               boolean NOT NULL DEFAULT false,
    -- the quick-look plots: [{kind, url, content_type, size}]
    previews                 jsonb NOT NULL DEFAULT '[]',
    -- t_max as a time: proprietary periods count from it
    obs_end                  timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    -- the file's exact size (bytes): content_length of its DataLink
    access_size              bigint,
    superseded_by            uuid,
    superseded_at            timestamptz
);
-- the cone searches: pgSphere points, GiST (as OiDB's oidb_spatial)
CREATE INDEX granule_spatial ON granule USING gist (spoint(radians(s_ra), radians(s_dec)))
    WHERE s_ra IS NOT NULL AND s_dec IS NOT NULL;
CREATE INDEX granule_file ON granule (file_id);
-- DataLink #derivation and the flags: the granules of an observation
CREATE INDEX granule_observations ON granule USING gin (observation_ids);
-- the listing's filters (keyset pages by id)
CREATE INDEX granule_target ON granule (lower(regexp_replace(target_name, '\s', '', 'g')), id);
CREATE INDEX granule_night ON granule (night, id);
CREATE INDEX granule_programme ON granule (programme, id);
CREATE INDEX granule_updated ON granule (updated_at, id);

-- The latest quality flag of each night-log observation (a flag may come before the granules it
-- applies to). ``version`` is the observation's aggregate version of that flag: an older flag
-- delivered late changes nothing.
CREATE TABLE observation_flag (
    observation_id  uuid PRIMARY KEY,
    level           text NOT NULL,
    version         bigint NOT NULL,
    flagged_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The worst flag of some observations: bad > degraded > usable > good > unknown (never flagged).
CREATE FUNCTION oidb_worst_level(ids uuid[]) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((
        SELECT f.level FROM observation_flag f WHERE f.observation_id = ANY(ids)
        ORDER BY coalesce(array_position(ARRAY['unknown', 'good', 'usable', 'degraded', 'bad'], f.level), 0) DESC
        LIMIT 1), 'unknown')
$$;

-- The effective quality_level (OiDB's scale: 0 Unknown, 1 Trash, 2 To be reduced again, 3 Quick look,
-- 4 Science ready, 5 Outstanding): 1 when an observation the granule came from is flagged bad; 3 when
-- one is degraded and the DRS said nothing (NULL or 0) or better than 3; otherwise the DRS's level.
CREATE FUNCTION oidb_quality_level(drs integer, worst text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN worst = 'bad' THEN 1
        WHEN worst = 'degraded' AND coalesce(drs, 0) IN (0, 4, 5) THEN 3
        ELSE coalesce(drs, 0)
    END
$$;

-- The OiDB table as a TAP service can publish it: JMMC's OiDB columns in the issue's order, then
-- SPICA-DB's. Every granule, superseded or not, released or not: the filter OiDB's clients apply is
-- data_rights = 'public' OR obs_release_date < now(). Released = the end of the observation (t_max)
-- plus the programme's proprietary period; calibrators (CALIB) are not embargoed; a granule of a
-- programme never announced has no release date (secure).
CREATE VIEW oidb_granule AS
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
    SELECT CASE WHEN g.dataproduct_category = 'CALIB' THEN g.obs_end
                ELSE g.obs_end + make_interval(months => p.proprietary_months) END AS release
) r;
