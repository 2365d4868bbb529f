-- Async TAP queries as UWS 1.1 jobs. Every replica of the service reads and runs them from here: a
-- runner claims a QUEUED job with FOR UPDATE SKIP LOCKED, keeps a heartbeat while it executes it (a
-- job whose worker stopped beating is taken up again, or ends in ERROR), and the sweeper deletes a
-- job and its result file once its destruction time has passed.

CREATE TABLE job (
    -- unguessable (an anonymous job is reached by its id alone)
    id                  text PRIMARY KEY CHECK (length(id) BETWEEN 16 AND 64),
    run_id              text CHECK (length(run_id) <= 256),
    -- the user who created it with a token (NULL: anonymous), and whether they see every row: the
    -- viewer the query runs as, whenever it runs
    owner               text,
    sees_all            boolean NOT NULL DEFAULT false,
    phase               text NOT NULL DEFAULT 'PENDING' CHECK (phase IN ('PENDING', 'QUEUED', 'EXECUTING',
                            'COMPLETED', 'ERROR', 'ABORTED', 'UNKNOWN', 'HELD', 'SUSPENDED', 'ARCHIVED')),
    -- the TAP parameters, as the client gave them (checked when the job runs, as a sync query's)
    lang                text,
    query               text,
    maxrec              bigint CHECK (maxrec >= 0),
    response_format     text,
    -- UPLOAD's value: name,URI pairs; the inline parts (param:x) are rows of job_upload
    upload              text,
    quote               timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- when PHASE=RUN queued it (the runners take the oldest first)
    queued_at           timestamptz,
    started_at          timestamptz,
    ended_at            timestamptz,
    -- seconds it may execute (bounded by the settings when set)
    execution_duration  integer NOT NULL CHECK (execution_duration > 0),
    destruction         timestamptz NOT NULL,
    error_summary       text,
    error_type          text CHECK (error_type IN ('transient', 'fatal')),
    -- the result: its file name under <data>/tap/results, media type, size in bytes, rows, and
    -- whether MAXREC cut it
    result_file         text,
    result_media_type   text,
    result_size         bigint,
    result_rows         bigint,
    overflow            boolean,
    -- the runner executing it (process and task) and its last sign of life
    worker              text,
    heartbeat_at        timestamptz,
    -- times a runner took it up (a job whose process died is taken up once more)
    attempts            integer NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((phase = 'EXECUTING') = (worker IS NOT NULL))
);

-- an owner's job list, newest first
CREATE INDEX job_owner ON job (owner, created_at DESC) WHERE owner IS NOT NULL;
-- the sweeper's
CREATE INDEX job_destruction ON job (destruction);
-- the runners' queue, and the jobs whose worker may have died
CREATE INDEX job_queued ON job (queued_at) WHERE phase = 'QUEUED';
CREATE INDEX job_executing ON job (heartbeat_at) WHERE phase = 'EXECUTING';

-- the inline parts of an async job's UPLOAD, kept with the job until it runs (deleted with it)
CREATE TABLE job_upload (
    job_id   text NOT NULL REFERENCES job (id) ON DELETE CASCADE,
    -- the part's name, as UPLOAD's param:<name> names it
    name     text NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    content  bytea NOT NULL,
    PRIMARY KEY (job_id, name)
);
