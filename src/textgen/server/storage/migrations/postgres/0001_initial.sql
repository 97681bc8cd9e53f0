-- Operations, tuned models, datasets and their row blocks. `seq` is the creation order (never
-- reused, so a re-created name lists last); `version` is the compare-and-set counter.
CREATE TABLE operations (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    version BIGINT NOT NULL,
    done BOOLEAN NOT NULL,
    api TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    modified_at DOUBLE PRECISION NOT NULL,
    description TEXT NOT NULL,
    data BYTEA NOT NULL
);
CREATE INDEX operations_by_owner ON operations (owner, seq);
CREATE INDEX operations_by_done ON operations (done, seq);

CREATE TABLE tuned_models (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    version BIGINT NOT NULL,
    model BYTEA NOT NULL,
    base_model BYTEA NOT NULL,
    examples TEXT NOT NULL,
    adapter BYTEA,
    operation_name TEXT NOT NULL,
    search TEXT NOT NULL
);
CREATE INDEX tuned_models_by_owner ON tuned_models (owner, seq);

CREATE TABLE datasets (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    version BIGINT NOT NULL,
    kind INTEGER NOT NULL,
    dataset BYTEA NOT NULL,
    row_count BIGINT NOT NULL,
    row_bytes BIGINT NOT NULL
);
CREATE INDEX datasets_by_owner ON datasets (owner, seq);

-- A dataset's rows, in blocks of encoded rows; rows first_index .. first_index+row_count-1.
CREATE TABLE dataset_blocks (
    dataset_seq BIGINT NOT NULL REFERENCES datasets (seq) ON DELETE CASCADE,
    first_index BIGINT NOT NULL,
    row_count INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (dataset_seq, first_index)
);
