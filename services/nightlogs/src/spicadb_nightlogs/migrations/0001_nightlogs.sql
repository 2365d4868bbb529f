-- Nights at CHARA: the SPICA scheduler's plans (every version kept), CHARA's logs (every version kept,
-- with what each changed), the observations they describe with their projected baselines, and quality
-- flags with their history. Plus this service's copy of the programmes' targets, to match logs.

-- a night is named by the local date at its start; it runs from local noon to local noon
CREATE TABLE night (
    site          text NOT NULL,
    night         date NOT NULL,
    start_utc     timestamptz NOT NULL,
    end_utc       timestamptz NOT NULL,
    plan_version  integer NOT NULL DEFAULT 0,
    log_version   integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, night)
);
CREATE INDEX night_by_date ON night (night, site);

-- every plan the scheduler posted for a night (a new post is a new version; none is overwritten)
CREATE TABLE plan_version (
    site          text NOT NULL,
    night         date NOT NULL,
    version       integer NOT NULL CHECK (version >= 1),
    -- the planned observations as posted, normalised (contracts' PlannedObservation)
    observations  jsonb NOT NULL,
    scheduled_by  text NOT NULL,
    scheduled_at  timestamptz NOT NULL,
    PRIMARY KEY (site, night, version),
    FOREIGN KEY (site, night) REFERENCES night ON DELETE CASCADE
);

-- every log CHARA posted for a night that changed something: its content and what it changed
CREATE TABLE log_version (
    site          text NOT NULL,
    night         date NOT NULL,
    version       integer NOT NULL CHECK (version >= 1),
    -- digest of the normalised lines: the same log again is recognised and changes nothing
    digest        text NOT NULL,
    format        text NOT NULL CHECK (format IN ('CSV', 'JSON')),
    lines         integer NOT NULL,
    skipped       integer[] NOT NULL DEFAULT '{}',
    unmatched     integer NOT NULL,
    added         uuid[] NOT NULL,
    changed       uuid[] NOT NULL,
    withdrawn     uuid[] NOT NULL,
    -- the document as posted
    content       bytea NOT NULL,
    ingested_by   text NOT NULL,
    ingested_at   timestamptz NOT NULL,
    PRIMARY KEY (site, night, version),
    FOREIGN KEY (site, night) REFERENCES night ON DELETE CASCADE
);

-- an observation CHARA logged; its id derives from (site, night, star, start to the second, mode), so a
-- corrected log updates it in place. The state of the latest log version that had it.
CREATE TABLE observation (
    id               uuid PRIMARY KEY,
    site             text NOT NULL,
    night            date NOT NULL,
    obs_key          text NOT NULL,
    first_version    integer NOT NULL,
    log_version      integer NOT NULL,
    -- the version that withdrew it (NULL: in the latest log)
    withdrawn_in     integer,
    line             integer NOT NULL,
    content_hash     text NOT NULL,
    target_name      text NOT NULL,
    type             text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('science', 'calibrator', 'check', 'unknown')),
    pi               text NOT NULL DEFAULT '',
    -- the PROGRAM column as logged (the matched programme is `programme`)
    log_programme    text NOT NULL DEFAULT '',
    combiner         text NOT NULL,
    programme        text,
    target_id        uuid,
    ra               double precision,
    dec              double precision,
    matched_by       text NOT NULL CHECK (matched_by IN ('plan', 'name', 'position', 'none')),
    planned_sequence integer,
    mode             text NOT NULL,
    em_min           double precision,
    em_max           double precision,
    resolving_power  double precision,
    stations         text[] NOT NULL,
    mjd_start        double precision NOT NULL,
    mjd_end          double precision NOT NULL,
    start_at         timestamptz NOT NULL,
    end_at           timestamptz NOT NULL,
    seeing           double precision,
    tau0             double precision,
    t0_obs           double precision,
    wind             double precision,
    airmass          double precision,
    temperature      double precision,
    b1               double precision,
    b2               double precision,
    b3               double precision,
    comments         text NOT NULL DEFAULT '',
    raw_files        text[] NOT NULL DEFAULT '{}',
    -- every station pair of the configuration (in chara.pairs order) at the start and the end: one row
    -- (u_start, v_start, u_end, v_end, length_start, length_end, angle_start, angle_end) per pair, metres
    -- and degrees east of north; empty without a position
    baselines        double precision[] NOT NULL DEFAULT '{}',
    level            text NOT NULL DEFAULT 'unknown'
                     CHECK (level IN ('good', 'usable', 'degraded', 'bad', 'unknown')),
    reasons          text[] NOT NULL DEFAULT '{}',
    level_comment    text NOT NULL DEFAULT '',
    logged_at        timestamptz NOT NULL,
    UNIQUE (site, night, obs_key)
);
CREATE INDEX observation_night ON observation (site, night);
CREATE INDEX observation_by_start ON observation (mjd_start, id);
CREATE INDEX observation_programme ON observation (programme, mjd_start);
CREATE INDEX observation_target ON observation (target_id);
CREATE INDEX observation_name ON observation (lower(target_name));

-- every quality flag set on an observation: who, when, from which level to which, why
CREATE TABLE observation_flag (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    observation_id  uuid NOT NULL REFERENCES observation ON DELETE CASCADE,
    level           text NOT NULL,
    previous_level  text NOT NULL,
    reasons         text[] NOT NULL,
    comment         text NOT NULL,
    flagged_by      text NOT NULL,
    flagged_at      timestamptz NOT NULL
);
CREATE INDEX observation_flag_observation ON observation_flag (observation_id, id);

-- the programmes' targets (from programmes.targets.imported and programmes.target.changed)
CREATE TABLE programme_target (
    target_id     uuid PRIMARY KEY,
    programme_id  uuid NOT NULL,
    programme     text NOT NULL,
    name          text NOT NULL,
    name_key      text NOT NULL,
    ra            double precision NOT NULL,
    dec           double precision NOT NULL,
    epoch         double precision NOT NULL DEFAULT 2000,
    pmra          double precision,
    pmdec         double precision,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX programme_target_name ON programme_target (name_key);
