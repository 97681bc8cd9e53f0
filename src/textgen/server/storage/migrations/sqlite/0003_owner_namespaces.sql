-- Tuned model and dataset names are unique per owner, not across owners: each principal
-- names its own resources, and two principals may each hold `datasets/foo`. SQLite cannot
-- change a table's UNIQUE constraint, so each table is built anew under a temporary name,
-- filled with every row as it was (seq, the creation order, included), and renamed over
-- the old one. The stores open the file with foreign keys off while migrating, so dropping
-- the old `datasets` leaves its row blocks in place; they point at the same seq values in
-- the new table. The AUTOINCREMENT counter is carried over, so no seq is ever reused.
CREATE TABLE tuned_models_0003 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    version INTEGER NOT NULL,
    model BLOB NOT NULL,
    base_model BLOB NOT NULL,
    examples TEXT NOT NULL,
    adapter BLOB,
    operation_name TEXT NOT NULL,
    search TEXT NOT NULL,
    UNIQUE (owner, name)
);
INSERT INTO tuned_models_0003
    (seq, name, owner, version, model, base_model, examples, adapter, operation_name, search)
SELECT seq, name, owner, version, model, base_model, examples, adapter, operation_name, search
FROM tuned_models;
DELETE FROM sqlite_sequence WHERE name = 'tuned_models_0003';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'tuned_models_0003', seq FROM sqlite_sequence WHERE name = 'tuned_models';
DROP TABLE tuned_models;
ALTER TABLE tuned_models_0003 RENAME TO tuned_models;
CREATE INDEX tuned_models_by_owner ON tuned_models (owner, seq);

CREATE TABLE datasets_0003 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    dataset BLOB NOT NULL,
    row_count INTEGER NOT NULL,
    row_bytes INTEGER NOT NULL,
    UNIQUE (owner, name)
);
INSERT INTO datasets_0003 (seq, name, owner, version, kind, dataset, row_count, row_bytes)
SELECT seq, name, owner, version, kind, dataset, row_count, row_bytes FROM datasets;
DELETE FROM sqlite_sequence WHERE name = 'datasets_0003';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'datasets_0003', seq FROM sqlite_sequence WHERE name = 'datasets';
DROP TABLE datasets;
ALTER TABLE datasets_0003 RENAME TO datasets;
CREATE INDEX datasets_by_owner ON datasets (owner, seq);
