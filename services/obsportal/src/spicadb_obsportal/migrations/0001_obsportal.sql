-- The L0 observation view (as JMMC's ObsPortal shows it), kept from the night-log events: the
-- targets observed, every logged exposure with its conditions, quality flag and plan match, and the
-- latest plan of each night. Programme titles, PIs, members and proprietary periods come from the
-- kit's rights component (programme_rights, same schema).

-- targets as the logs name them (one row per name, blanks and case aside); target_id of the VOTable
CREATE TABLE target (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name_key  text NOT NULL UNIQUE,
    name      text NOT NULL,
    -- the latest position a log gave (degrees, ICRS)
    ra        double precision,
    dec       double precision
);

-- one row per logged observation (an ObsPortal exposure); obs_id = id
CREATE TABLE exposure (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    observation_id    uuid NOT NULL UNIQUE,
    -- SPICA.<UTC start of the first log, ISO, microseconds>; exp_id = exp_header_id || '_' || id
    exp_header_id     text NOT NULL,
    site              text NOT NULL,
    night             date NOT NULL,
    log_version       integer NOT NULL,
    programme         text,
    target_id         bigint NOT NULL REFERENCES target,
    kind              text NOT NULL DEFAULT 'science',
    mode              text NOT NULL,
    stations          text[] NOT NULL DEFAULT '{}',
    mjd_start         double precision NOT NULL,
    mjd_end           double precision NOT NULL,
    -- the end of the observation: proprietary periods count from it
    date_end          timestamptz NOT NULL,
    ra                double precision CHECK (ra >= 0 AND ra < 360),
    dec               double precision CHECK (dec BETWEEN -90 AND 90),
    seeing            double precision,
    -- seconds (the logs give milliseconds)
    tau0              double precision,
    wind              double precision,
    airmass           double precision,
    temperature       double precision,
    comments          text NOT NULL DEFAULT '',
    raw_files         text[] NOT NULL DEFAULT '{}',
    -- the projected baselines of the log, as JSON
    baselines         text NOT NULL DEFAULT '[]',
    planned_sequence  integer,
    matched_by        text NOT NULL DEFAULT 'none',
    em_min            double precision,
    em_max            double precision,
    resolving_power   double precision,
    -- the quality flag: unknown (never flagged), good, usable, degraded, bad
    level             text NOT NULL DEFAULT 'unknown',
    flag_reasons      text[] NOT NULL DEFAULT '{}',
    flag_comment      text NOT NULL DEFAULT '',
    flagged_by        text,
    flagged_at        timestamptz,
    -- quality flags applied (a redelivered flag is not counted twice)
    flags             integer NOT NULL DEFAULT 0,
    -- a corrected log removed it: kept for its flags, shown nowhere
    withdrawn         boolean NOT NULL DEFAULT false,
    logged_at         timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- the cone searches (search.votable, scs): pgSphere points, GiST
CREATE INDEX exposure_position ON exposure USING gist (spoint(radians(ra), radians(dec)))
    WHERE NOT withdrawn AND ra IS NOT NULL;
-- OiDB's harvesting (date_updated_from/to) and last_mod_date
CREATE INDEX exposure_updated ON exposure (updated_at, id);
-- the REST listing, by time
CREATE INDEX exposure_start ON exposure (mjd_start, id);
CREATE INDEX exposure_night ON exposure (night, mjd_start, id);
CREATE INDEX exposure_programme ON exposure (programme, mjd_start, id);
CREATE INDEX exposure_target ON exposure (target_id);
CREATE INDEX exposure_plan ON exposure (site, night, planned_sequence) WHERE planned_sequence IS NOT NULL;

-- the version of each night's plan in force
CREATE TABLE night_plan (
    site          text NOT NULL,
    night         date NOT NULL,
    version       integer NOT NULL,
    scheduled_by  text NOT NULL,
    scheduled_at  timestamptz NOT NULL,
    PRIMARY KEY (site, night)
);

-- the entries of that plan: planned versus observed
CREATE TABLE plan_entry (
    site           text NOT NULL,
    night          date NOT NULL,
    sequence       integer NOT NULL,
    programme      text NOT NULL,
    target         text NOT NULL,
    mode           text NOT NULL,
    configuration  text[] NOT NULL,
    start_at       timestamptz NOT NULL,
    end_at         timestamptz NOT NULL,
    calibrators    text[] NOT NULL DEFAULT '{}',
    target_ref     uuid,
    PRIMARY KEY (site, night, sequence),
    FOREIGN KEY (site, night) REFERENCES night_plan ON DELETE CASCADE
);
CREATE INDEX plan_entry_night ON plan_entry (night, site, sequence);
