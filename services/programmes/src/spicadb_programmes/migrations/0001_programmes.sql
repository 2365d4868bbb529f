-- Programmes, their members, proposals and what they ask to observe; and this service's copy of
-- the night logs (plans, observations and their flags), from which progress is computed.

CREATE TABLE programme (
    id                  uuid PRIMARY KEY,
    code                text NOT NULL UNIQUE,
    title               text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('large-programme', 'survey', 'regular', 'directors-time')),
    pi                  text NOT NULL,
    description         text NOT NULL DEFAULT '',
    status              text NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft', 'active', 'completed', 'archived')),
    public              boolean NOT NULL DEFAULT false,
    -- data are released this many months after the end of their observation
    proprietary_months  integer NOT NULL CHECK (proprietary_months BETWEEN 0 AND 120),
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE member (
    programme_id  uuid NOT NULL REFERENCES programme ON DELETE CASCADE,
    username      text NOT NULL,
    role          text NOT NULL CHECK (role IN ('pi', 'co-investigator', 'observer', 'viewer')),
    added_by      text NOT NULL,
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, username)
);
CREATE INDEX member_username ON member (username);
-- one PI per programme
CREATE UNIQUE INDEX member_one_pi ON member (programme_id) WHERE role = 'pi';

CREATE TABLE proposal (
    id               uuid PRIMARY KEY,
    programme_id     uuid NOT NULL REFERENCES programme ON DELETE CASCADE,
    period           text NOT NULL CHECK (period ~ '^\d{4}[AB]$'),
    title            text NOT NULL,
    abstract         text NOT NULL DEFAULT '',
    requested_hours  double precision NOT NULL DEFAULT 0,
    status           text NOT NULL DEFAULT 'draft',
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (programme_id, period)
);

-- every move of a proposal in its lifecycle: who, when, from where to where, why
CREATE TABLE proposal_transition (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id  uuid NOT NULL REFERENCES proposal ON DELETE CASCADE,
    from_status  text NOT NULL,
    to_status    text NOT NULL,
    changed_by   text NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    comment      text NOT NULL DEFAULT ''
);
CREATE INDEX proposal_transition_proposal ON proposal_transition (proposal_id, id);

CREATE TABLE work_package (
    id            uuid PRIMARY KEY,
    programme_id  uuid NOT NULL REFERENCES programme ON DELETE CASCADE,
    code          text NOT NULL,
    title         text NOT NULL,
    description   text NOT NULL DEFAULT '',
    UNIQUE (programme_id, code)
);

CREATE TABLE target (
    id               uuid PRIMARY KEY,
    programme_id     uuid NOT NULL REFERENCES programme ON DELETE CASCADE,
    work_package_id  uuid REFERENCES work_package ON DELETE SET NULL,
    name             text NOT NULL,
    -- the name as compared: lower case, blanks collapsed ("HD  1234" = "hd 1234")
    name_key         text NOT NULL,
    ra               double precision NOT NULL CHECK (ra >= 0 AND ra < 360),
    dec              double precision NOT NULL CHECK (dec BETWEEN -90 AND 90),
    epoch            double precision NOT NULL DEFAULT 2000.0,
    pmra             double precision,
    pmdec            double precision,
    parallax         double precision,
    radial_velocity  double precision,
    mag_v            double precision,
    mag_r            double precision,
    mag_i            double precision,
    mag_j            double precision,
    mag_h            double precision,
    mag_k            double precision,
    spectral_type    text,
    object_type      text,
    hd               text,
    hip              text,
    tmass            text,
    gaia             text,
    notes            text,
    -- not-observed, partial, done: over the target's requests, kept by the progress consumer
    progress         text NOT NULL DEFAULT 'not-observed',
    import_id        uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (programme_id, name_key)
);
CREATE INDEX target_programme_ra ON target (programme_id, ra, id);
CREATE INDEX target_programme_created ON target (programme_id, created_at, id);
CREATE INDEX target_work_package ON target (work_package_id);

-- an observing setup: SPICA, a mode, a CHARA configuration (stations in channel order V1..V6)
CREATE TABLE setup (
    id                     uuid PRIMARY KEY,
    programme_id           uuid NOT NULL REFERENCES programme ON DELETE CASCADE,
    name                   text NOT NULL,
    instrument             text NOT NULL DEFAULT 'SPICA',
    mode                   text NOT NULL CHECK (mode IN ('LR', 'MR640', 'MR685', 'MR720', 'MR800', 'MR850', 'HR')),
    configuration          text[] NOT NULL,
    calibrators_per_visit  integer NOT NULL DEFAULT 1,
    calibrator_notes       text NOT NULL DEFAULT '',
    UNIQUE (programme_id, name)
);

-- an observation request: this target with this setup, so many visits, at this priority;
-- planned / observed / good are kept current from the night-log events
CREATE TABLE request (
    id            uuid PRIMARY KEY,
    programme_id  uuid NOT NULL REFERENCES programme ON DELETE CASCADE,
    target_id     uuid NOT NULL REFERENCES target ON DELETE CASCADE,
    setup_id      uuid NOT NULL REFERENCES setup ON DELETE RESTRICT,
    visits        integer NOT NULL CHECK (visits >= 1),
    priority      integer NOT NULL CHECK (priority BETWEEN 1 AND 5),
    planned       integer NOT NULL DEFAULT 0,
    observed      integer NOT NULL DEFAULT 0,
    good          integer NOT NULL DEFAULT 0,
    UNIQUE (target_id, setup_id)
);
CREATE INDEX request_programme ON request (programme_id);
CREATE INDEX request_setup ON request (setup_id);

-- this service's copy of the night logs -----------------------------------------------------

-- the latest version of each night's plan, one row per planned observation
CREATE TABLE planned_observation (
    site          text NOT NULL,
    night         date NOT NULL,
    sequence      integer NOT NULL,
    plan_version  integer NOT NULL,
    programme_id  uuid REFERENCES programme ON DELETE CASCADE,
    target_id     uuid REFERENCES target ON DELETE CASCADE,
    mode          text NOT NULL,
    PRIMARY KEY (site, night, sequence)
);
CREATE INDEX planned_observation_target ON planned_observation (target_id, mode);

CREATE TABLE night_plan (
    site     text NOT NULL,
    night    date NOT NULL,
    version  integer NOT NULL,
    PRIMARY KEY (site, night)
);

-- every logged observation of a programme target, with its latest quality level
CREATE TABLE observation (
    id            uuid PRIMARY KEY,
    programme_id  uuid REFERENCES programme ON DELETE CASCADE,
    target_id     uuid REFERENCES target ON DELETE SET NULL,
    mode          text NOT NULL,
    night         date NOT NULL,
    mjd_start     double precision NOT NULL,
    mjd_end       double precision NOT NULL,
    level         text NOT NULL DEFAULT 'unknown',
    withdrawn     boolean NOT NULL DEFAULT false,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX observation_target ON observation (target_id, mode);
