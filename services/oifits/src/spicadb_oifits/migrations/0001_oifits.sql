-- OIFITS files pushed by the DRS, their validation reports and their granules (one per target x INSNAME x
-- night), linked to the night-log observations they came from. The bytes live in the content-addressed
-- store (the data folder), keyed by sha256; these tables say what they are and who may see them.
-- Programme members and proprietary periods come from the kit's rights component (programme_rights).

-- one row per distinct content pushed and indexed
CREATE TABLE oifits_file (
    id                uuid PRIMARY KEY,
    sha256            text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    md5               text NOT NULL CHECK (md5 ~ '^[0-9a-f]{32}$'),
    size              bigint NOT NULL CHECK (size > 0),
    -- the name the DRS gave it (metadata only: storage is by content)
    filename          text NOT NULL,
    -- the DRS product it is a reduction of; one current file per product
    product_id        text,
    product_version   integer NOT NULL DEFAULT 1,
    status            text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'superseded')),
    -- deferred: a push marks the old file superseded by the new one before inserting it (one current per product)
    superseded_by     uuid REFERENCES oifits_file DEFERRABLE INITIALLY DEFERRED,
    superseded_at     timestamptz,
    -- validation: the version decided from the tables (1, 2 or NULL), the verdict, the whole report
    oifits_version    integer,
    verdict           text NOT NULL CHECK (verdict IN ('valid', 'valid-with-warnings')),
    profile           text NOT NULL,
    report            jsonb NOT NULL,
    calib_level       integer NOT NULL,
    -- the programme its data belong to (NULL: none known, visible to staff and trusted robots only)
    programme         text,
    -- SCIENCE, or CALIB when every granule is a calibrator (no embargo)
    category          text NOT NULL DEFAULT 'SCIENCE',
    -- the end of its observations: proprietary periods count from it
    obs_end           timestamptz NOT NULL,
    pushed_by         text NOT NULL,
    pushed_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, product_version)
);
CREATE UNIQUE INDEX oifits_file_current_product ON oifits_file (product_id)
    WHERE status = 'current' AND product_id IS NOT NULL;
CREATE INDEX oifits_file_pushed ON oifits_file (pushed_at, id);
CREATE INDEX oifits_file_programme ON oifits_file (programme, pushed_at);

-- a push refused (unreadable, no data table, broken references): only its report is kept
CREATE TABLE rejection (
    id                uuid PRIMARY KEY,
    sha256            text NOT NULL UNIQUE,
    size              bigint NOT NULL,
    filename          text NOT NULL,
    product_id        text,
    profile           text NOT NULL,
    report            jsonb NOT NULL,
    -- the same bytes refused again count here instead of a new row
    attempts          integer NOT NULL DEFAULT 1,
    pushed_by         text NOT NULL,
    pushed_at         timestamptz NOT NULL DEFAULT now(),
    last_pushed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejection_pushed ON rejection (last_pushed_at DESC, id);

-- one ObsCore granule: one OI_TARGET row x one INSNAME x one night of a file
CREATE TABLE granule (
    id                      uuid PRIMARY KEY,
    file_id                 uuid NOT NULL REFERENCES oifits_file ON DELETE CASCADE,
    night                   date NOT NULL,
    insname                 text NOT NULL,
    target_id               integer NOT NULL,
    target_name             text NOT NULL,
    -- blanks and case aside, to match the night logs' names
    target_key              text NOT NULL,
    s_ra                    double precision,
    s_dec                   double precision,
    t_min                   double precision NOT NULL,
    t_max                   double precision NOT NULL,
    t_exptime               double precision NOT NULL,
    int_time_min            double precision NOT NULL,
    em_min                  double precision NOT NULL,
    em_max                  double precision NOT NULL,
    em_res_power            double precision,
    nb_channels             integer NOT NULL,
    nb_vis                  integer NOT NULL,
    nb_vis2                 integer NOT NULL,
    nb_t3                   integer NOT NULL,
    nb_flux                 integer NOT NULL,
    facility_name           text,
    instrument_name         text NOT NULL,
    instrument_mode         text,
    interferometer_stations text,
    calib_level             integer NOT NULL,
    dataproduct_type        text NOT NULL,
    access_format           text NOT NULL,
    dataproduct_category    text NOT NULL DEFAULT 'SCIENCE',
    obs_id                  text,
    progid                  text,
    proposal_subid          text,
    quality_level           integer,
    programme               text,
    obs_end                 timestamptz NOT NULL,
    UNIQUE (file_id, target_id, insname, night)
);
CREATE INDEX granule_file ON granule (file_id);
-- linking observations logged after the file: granules of that night by time
CREATE INDEX granule_time ON granule (t_min, t_max);
CREATE INDEX granule_obs_id ON granule (obs_id) WHERE obs_id IS NOT NULL;

-- quick-look plots of a granule, stored content-addressed like the files
CREATE TABLE preview (
    granule_id  uuid NOT NULL REFERENCES granule ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('uv', 'vis2', 't3phi')),
    sha256      text NOT NULL,
    size        integer NOT NULL,
    PRIMARY KEY (granule_id, kind)
);

-- the night-log observations, kept from nightlogs.observation.logged: what a granule can be linked to
CREATE TABLE observation (
    observation_id  uuid PRIMARY KEY,
    site            text NOT NULL,
    night           date NOT NULL,
    log_version     integer NOT NULL,
    programme       text,
    target_name     text NOT NULL,
    target_key      text NOT NULL,
    ra              double precision,
    dec             double precision,
    mjd_start       double precision NOT NULL,
    mjd_end         double precision NOT NULL,
    -- raw file stems (without .fits): a granule's ARCFILE names one of them
    raw_files       text[] NOT NULL DEFAULT '{}',
    withdrawn       boolean NOT NULL DEFAULT false
);
CREATE INDEX observation_time ON observation (mjd_start, mjd_end) WHERE NOT withdrawn;
CREATE INDEX observation_raw_files ON observation USING gin (raw_files) WHERE NOT withdrawn;

-- which observations a granule came from, and how that was decided
CREATE TABLE granule_observation (
    granule_id      uuid NOT NULL REFERENCES granule ON DELETE CASCADE,
    observation_id  uuid NOT NULL REFERENCES observation,
    -- raw-file (ARCFILE names a raw file of the log), name or position (same target, times overlap)
    matched_by      text NOT NULL CHECK (matched_by IN ('raw-file', 'name', 'position')),
    linked_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (granule_id, observation_id)
);
CREATE INDEX granule_observation_observation ON granule_observation (observation_id);
