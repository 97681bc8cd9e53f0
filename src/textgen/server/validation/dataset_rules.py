"""DatasetService's rule sets: the dataset's own fields, the requested id, and prompt rows
(whole datasets and upload chunks; validation.prompt_rows checks a chunk in one pass)."""

from __future__ import annotations

from textgen.server.names import DATASET
from textgen.server.validation.rules import AnyRule, Rule, count_between, non_empty

DATASET_DISPLAY_NAME_MAX = 256
DATASET_DESCRIPTION_MAX = 1024
DATASET_MAX_ROWS = 1000

DATASET_RULES: list[AnyRule] = [  # checked under the `dataset` prefix
    Rule(
        "display_name",
        lambda v: len(v) <= DATASET_DISPLAY_NAME_MAX,
        f"must be at most {DATASET_DISPLAY_NAME_MAX} characters",
    ),
    Rule(
        "description",
        lambda v: len(v) <= DATASET_DESCRIPTION_MAX,
        f"must be at most {DATASET_DESCRIPTION_MAX} characters",
    ),
]

DATASET_ID_RULE = Rule(
    "dataset_id",
    lambda v: v == "" or DATASET.is_valid_id(v),
    f"must match {DATASET.id_syntax}",
)

ROW_RULES: list[AnyRule] = [  # `rows` of CreateDatasetRequest or UploadDatasetChunk
    Rule("rows[]", lambda row: row.WhichOneof("prompt") is not None, "needs text or messages"),
    Rule("rows[].messages.messages", non_empty, "must hold at least one message"),
]

# CreateDatasetRequest (its `dataset` holds only optional fields, so an absent one reads as
# empty and passes DATASET_RULES).
CREATE_DATASET_RULES: list[AnyRule] = [
    DATASET_ID_RULE,
    Rule(
        "rows",
        count_between(1, DATASET_MAX_ROWS),
        f"between 1 and {DATASET_MAX_ROWS} rows are required",
    ),
    *ROW_RULES,
]
# The header of an UploadDataset stream (its chunks are checked by validation.prompt_rows).
UPLOAD_HEADER_RULES: list[AnyRule] = [DATASET_ID_RULE]
