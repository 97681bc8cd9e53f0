-- Operations, tuned models, datasets and their row blocks. `seq` is the creation order (never
-- reused, so a re-created name lists last); `version` is the compare-and-set counter.
CREATE TABLE operations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    version INTEGER NOT NULL,
    done INTEGER NOT NULL,
    api TEXT NOT NULL,
    created_at REAL NOT NULL,
    modified_at REAL NOT NULL,
    description TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX operations_by_owner ON operations (owner, seq);
CREATE INDEX operations_by_done ON operations (done, seq);

CREATE TABLE tuned_models (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    version INTEGER NOT NULL,
    model BLOB NOT NULL,
    base_model BLOB NOT NULL,
    examples TEXT NOT NULL,
    adapter BLOB,
    operation_name TEXT NOT NULL,
    search TEXT NOT NULL
);
CREATE INDEX tuned_models_by_owner ON tuned_models (owner, seq);

CREATE TABLE datasets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    dataset BLOB NOT NULL,
    row_count INTEGER NOT NULL,
    row_bytes INTEGER NOT NULL
);
CREATE INDEX datasets_by_owner ON datasets (owner, seq);

-- A dataset's rows, in blocks of encoded rows; rows first_index .. first_index+row_count-1.
CREATE TABLE dataset_blocks (
    dataset_seq INTEGER NOT NULL REFERENCES datasets (seq) ON DELETE CASCADE,
    first_index INTEGER NOT NULL,
    row_count INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (dataset_seq, first_index)
);
