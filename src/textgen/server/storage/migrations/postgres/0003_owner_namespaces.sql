-- Tuned model and dataset names are unique per owner, not across owners: each principal
-- names its own resources, and two principals may each hold `datasets/foo`. The UNIQUE
-- constraint on the name alone (named by PostgreSQL's default, <table>_name_key) becomes
-- one on (owner, name); every row stays as it is.
ALTER TABLE tuned_models DROP CONSTRAINT tuned_models_name_key;
ALTER TABLE tuned_models ADD CONSTRAINT tuned_models_owner_name_key UNIQUE (owner, name);
ALTER TABLE datasets DROP CONSTRAINT datasets_name_key;
ALTER TABLE datasets ADD CONSTRAINT datasets_owner_name_key UNIQUE (owner, name);
