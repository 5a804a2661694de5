"""The task list: the names, classes and metrics every stage reads from it, as the files spell them."""

from __future__ import annotations

from maskprivacy.data.labels import age_to_bucket
from maskprivacy.models.factory import TASKS as HEAD_SIZES
from maskprivacy.privacy.discovery import TASK_COLUMNS
from maskprivacy.privacy.strongest import TASK_METRIC
from maskprivacy.tasks import AGE_BUCKET_NAMES, AGE_BUCKETS, CLASS_NAMES, CLASS_TASKS, HEAD_ORDER, MAX_AGE, TASKS


def test_the_networks_heads_keep_their_sizes_and_order():
    # a saved model.pt holds these heads: their sizes and order must not move
    assert list(HEAD_SIZES.items()) == [("sex", 2), ("race", 5), ("age", 1), ("age_bucket", 7)]
    assert sorted(HEAD_ORDER) == sorted(TASKS)


def test_predictions_columns_and_ranking_metrics():
    assert TASK_COLUMNS["age_bucket"] == ("age_bucket_true", "age_bucket_pred")
    assert list(TASK_COLUMNS) == ["sex", "race", "age_bucket", "age"]
    assert TASK_METRIC == {
        "sex": ("accuracy", True),
        "race": ("accuracy", True),
        "age_bucket": ("accuracy", True),
        "age": ("mae", False),
    }


def test_classes_and_buckets_agree():
    assert CLASS_TASKS == tuple(CLASS_NAMES) == ("sex", "race", "age_bucket")
    assert CLASS_NAMES["sex"] == ("male", "female")  # UTKFace's 0 and 1
    assert len(AGE_BUCKET_NAMES) == len(AGE_BUCKETS)
    assert [age_to_bucket(a) for a in (0, 3, 4, 30, 31, 61, MAX_AGE)] == [0, 0, 1, 3, 4, 6, 6]
