-- The work behind running operations, so that it survives the process that started it.
-- A job is one operation's work: `spec` (JSON) is what running it again needs. A batch job
-- has `total` batches in job_batches; `appended` counts those whose rows are in the result
-- dataset (always the first ones, in order). A tuning job has no batches and is leased whole.
CREATE TABLE jobs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    total INTEGER NOT NULL,
    appended INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION,
    finished BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX jobs_open ON jobs (finished, seq);

-- One batch of a batch job: leased to a worker while it runs; once done, its encoded result
-- rows wait in `result` until every earlier batch is appended (then it is cleared).
CREATE TABLE job_batches (
    operation TEXT NOT NULL REFERENCES jobs (operation) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    worker TEXT,
    result_rows INTEGER NOT NULL DEFAULT 0,
    result BYTEA,
    PRIMARY KEY (operation, number)
);
CREATE INDEX job_batches_open ON job_batches (done, operation, number);
