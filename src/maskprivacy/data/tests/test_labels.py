import pytest

from maskprivacy.data.labels import AGE_BUCKET_NAMES, LabelError, age_to_bucket, parse_name


def test_parse_good_name():
    lab = parse_name("UTKFace/26_1_3_20170117195838909.jpg.chip.jpg")
    assert (lab.age, lab.sex, lab.race) == (26, 1, 3)
    assert AGE_BUCKET_NAMES[lab.age_bucket] == "20-30"


@pytest.mark.parametrize(
    "age,bucket",
    [
        (0, 0),
        (3, 0),
        (4, 1),
        (12, 1),
        (13, 2),
        (19, 2),
        (20, 3),
        (30, 3),
        (31, 4),
        (45, 4),
        (46, 5),
        (60, 5),
        (61, 6),
        (116, 6),
    ],
)
def test_buckets_numeric_not_string_order(age, bucket):
    assert age_to_bucket(age) == bucket


@pytest.mark.parametrize(
    "name,needle",
    [
        ("61_1_20170109150557335.jpg.chip.jpg", "missing"),
        ("abc.jpg", "does not follow"),
        ("30_2_0_20170109150557335.jpg.chip.jpg", "sex code 2"),
        ("30_0_7_20170109150557335.jpg.chip.jpg", "race code 7"),
        ("200_0_0_20170109150557335.jpg.chip.jpg", "age 200"),
    ],
)
def test_malformed_names_have_reasons(name, needle):
    with pytest.raises(LabelError, match=needle):
        parse_name(name)
