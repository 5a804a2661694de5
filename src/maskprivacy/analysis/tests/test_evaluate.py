"""evaluate's research fields on a tiny labelled folder whose every answer is known in advance.

The run's models answer the same for every face (``make_demo_run(fixed=...)``), a different answer per
model, so the confusion matrices, per-class and balanced accuracies, age-bucket accuracy and MAE below
follow from the labels alone, and the routing of real masks to the mask-robust attacker shows in them.
"""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

import maskprivacy.analysis.realmask_row as realmask_row
from maskprivacy.analysis.demo_run import make_demo_run
from maskprivacy.analysis.labelled_folder import PREDICTION_COLUMNS, EvalResult, evaluate
from maskprivacy.analysis.realmask_row import mean_reading, realmask_summary
from maskprivacy.cli import main

ANSWERS = {
    "unmasked": {"sex": 1, "race": 3, "age_bucket": 4, "age": 40},  # female, Indian, 31-45, 40 y
    "masked": {"sex": 1, "race": 1, "age_bucket": 2, "age": 15},  # female, Black, 13-19, 15 y
    "robust": {"sex": 0, "race": 0, "age_bucket": 3, "age": 25},
}  # male, White, 20-30, 25 y


@pytest.fixture(scope="module")
def fixed_run(tmp_path_factory):
    return make_demo_run(tmp_path_factory.mktemp("fixed"), input_size=32, robust=True, fixed=ANSWERS)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, good_faces, jpeg):
    root = tmp_path_factory.mktemp("known")
    # path, sex, race, age, masked (the photos are bare sample faces; "masked=1" tells evaluate they wear one)
    rows = [
        ("a.jpg", 0, 3, 40, 0),
        ("b.jpg", 1, 0, 20, 0),
        ("c.jpg", 0, 3, 70, 0),
        ("d.jpg", 0, 0, 25, 1),
        ("e.jpg", 1, 2, 50, 1),
    ]
    for (name, *_), src in zip(rows, good_faces):
        shutil.copy(src, root / name)
    (root / "wall.jpg").write_bytes(jpeg((np.random.default_rng(0).random((220, 220, 3)) * 40 + 100).astype(np.uint8)))
    rows += [("wall.jpg", 1, 0, 30, 0), ("gone.jpg", 0, 0, 30, 0)]
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "sex", "race", "age", "masked"])
        w.writerows(rows)
    return root


def test_evaluate_json_has_confusion_per_class_and_balanced_accuracy(fixed_run, folder, capsys):
    assert (
        main(
            [
                "evaluate",
                "--images",
                str(folder),
                "--labels",
                str(folder / "labels.csv"),
                "--model",
                str(fixed_run),
                "--json",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["n"] == 7 and d["faces_found"] == 5 and d["not_found"] == ["wall.jpg"]
    assert d["models"] == {"unmasked_uniform": 3, "robust_uniform": 2}  # real masks: the mask-robust attacker
    assert d["already_masked"] == {"yes": 2, "no": 3}
    sex = d["sex"]
    # bare faces read female, masked ones male: true male -> [1 male, 2 female], true female -> [1, 1]
    assert sex["confusion"] == [[1, 2], [1, 1]]
    assert sex["accuracy"] == pytest.approx(2 / 5) and sex["n"] == 5
    assert sex["per_class"] == pytest.approx({"male": 1 / 3, "female": 1 / 2})
    assert sex["balanced_accuracy"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert sex["support"] == {"male": 3, "female": 2} and sex["predicted"] == {"male": 2, "female": 3}
    # one probability per model: of the 6 woman-man pairs, 1 ranked right, 3 tied (half each)
    assert sex["auc"] == pytest.approx(2.5 / 6)
    race = d["race"]
    assert race["confusion"] == [[1, 0, 0, 1, 0], [0] * 5, [1, 0, 0, 0, 0], [0, 0, 0, 2, 0], [0] * 5]
    assert race["accuracy"] == pytest.approx(3 / 5)
    assert race["per_class"] == {"White": 0.5, "Black": None, "Asian": 0.0, "Indian": 1.0, "Others": None}
    assert race["balanced_accuracy"] == pytest.approx(0.5)  # classes without photos do not count
    # true buckets 31-45, 20-30, 61+ (bare: read 31-45) and 20-30, 46-60 (masked: read 20-30)
    assert d["age_bucket"]["accuracy"] == pytest.approx(2 / 5) and len(d["age_bucket"]["confusion"]) == 7
    assert d["age"]["mae"] == pytest.approx((0 + 20 + 30 + 0 + 25) / 5, abs=0.01) and d["age"]["n"] == 5
    assert d["age"]["rmse"] == pytest.approx(np.sqrt((0 + 400 + 900 + 0 + 625) / 5), abs=0.01)
    # the masked column also measures the masked-or-bare checks on the same photos (this run has no detector)
    mc = d["mask_check"]
    assert mc["checks"].keys() == {"colour"} and mc["n_photos"] == 7
    assert mc["not_found"] == 1 and [e["path"] for e in mc["errors"]] == ["gone.jpg"]
    assert mc["checks"]["colour"]["support"] == {"bare": 3, "masked": 2}


def test_evaluate_can_read_real_masks_with_the_paper_attacker_and_writes_predictions(fixed_run, folder, tmp_path):
    out = tmp_path / "sub" / "pred.csv"
    res = evaluate(folder, folder / "labels.csv", fixed_run, real_mask="masked", predictions=out)
    assert res.models == {"unmasked_uniform": 3, "masked_uniform": 2}
    assert res.metrics["sex"]["confusion"] == [[0, 3], [0, 2]]  # every face read female now
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == PREDICTION_COLUMNS
    assert [r["path"] for r in rows] == ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "wall.jpg", "gone.jpg"]
    a, d, wall, gone = rows[0], rows[3], rows[5], rows[6]
    assert (a["found"], a["already_masked"], a["model"], a["sex_pred"], a["race_pred"]) == (
        "1",
        "0",
        "unmasked_uniform",
        "1",
        "3",
    )
    assert float(a["sex_prob_female"]) > 0.99 and float(a["age_pred"]) == pytest.approx(40, abs=0.1)
    assert (d["already_masked"], d["model"], d["race_pred"], d["age_bucket_pred"]) == ("1", "masked_uniform", "1", "2")
    assert sum(float(d[f"race_prob_{n}"]) for n in ("White", "Black", "Asian", "Indian", "Others")) == pytest.approx(
        1, abs=1e-3
    )
    assert (wall["found"], wall["model"], wall["error"]) == ("0", "", "no face found")
    assert (gone["found"], gone["error"]) == ("", "no such file")
    # the digital mask on bare faces goes to the paper-style attacker; real masks keep the robust one
    dig = evaluate(folder, folder / "labels.csv", fixed_run, mask_style="a")
    assert dig.models == {"masked_uniform": 3, "robust_uniform": 2}


def test_evaluate_text_output_shows_per_class(fixed_run, folder, tmp_path, capsys):
    assert (
        main(
            [
                "evaluate",
                "--images",
                str(folder),
                "--labels",
                str(folder / "labels.csv"),
                "--model",
                str(fixed_run),
                "--quiet",
                "--predictions",
                str(tmp_path / "p.csv"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "sex accuracy: 40.0%, balanced 41.7%, AUC 0.417 (n=5); per class: male 33.3% (n=3), female 50.0% (n=2)" in out
    )
    assert "robust_uniform (2 faces)" in out and (tmp_path / "p.csv").is_file()
    assert "masked or bare, colour check (faces/maskcheck.py) on the labelled photos: " in out


def test_realmask_summary_row(fixed_run, good_faces, tmp_path, monkeypatch):
    """Each masked-face attacker on the photos with real masks, plus bare photos + digital mask a."""
    (tmp_path / "images").mkdir()
    # people p001, p002 (men) and p003 (woman); two photos each with a "real mask", one bare
    rows = []
    for i, (person, sex) in enumerate((("p001", 0), ("p002", 0), ("p003", 1))):
        for j, masked in enumerate((1, 1, 0)):
            name = f"images/{person}_{masked}{j}m.jpg"
            shutil.copy(good_faces[(3 * i + j) % len(good_faces)], tmp_path / name)
            rows.append((name, sex, 3, masked))
    with open(tmp_path / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "sex", "race", "masked"])
        w.writerows(rows)
    d = realmask_summary(fixed_run, tmp_path, tmp_path / "labels.csv", n_boot=300)
    assert "realmask-dev" in d["population"] and "3 people" in d["population"]
    assert set(d["attackers"]) == {"cnn_masked", "cnn_robust", "cnn_masked_digital_a", "cnn_masked_covered"}
    cov = d["attackers"]["cnn_masked_covered"]
    assert cov["model"] == "masked_uniform" and cov["n"] == 6 and "painted over" in cov["photos"]
    rob, pap, dig = (d["attackers"][k] for k in ("cnn_robust", "cnn_masked", "cnn_masked_digital_a"))
    assert rob["model"] == "robust_uniform" and rob["n"] == 6 and dig["n"] == 3
    # robust reads every face male: 4 of 6 right; men all right, the woman never -> balanced 0.5
    assert rob["sex"]["accuracy"] == pytest.approx(4 / 6) and rob["sex"]["balanced_accuracy"] == pytest.approx(0.5)
    lo, hi = rob["sex"]["ci"]
    assert 0 <= lo <= 4 / 6 <= hi <= 1 and lo < hi and rob["sex"]["resampled"] == "3 people"
    assert pap["sex"]["accuracy"] == pytest.approx(2 / 6)  # the paper-style attacker reads female
    assert rob["sex"]["per_class"] == {
        "male": {"accuracy": 1.0, "photos": 4, "people": 2},
        "female": {"accuracy": 0.0, "photos": 2, "people": 1},
    }
    assert rob["sex"]["auc"] == pytest.approx(0.5)  # one answer for every face: no ranking at all
    assert rob["race"]["accuracy"] == 0 and pap["race"]["accuracy"] == 0  # White / Black for Indian faces
    assert dig["sex"]["accuracy"] == pytest.approx(1 / 3) and dig["photos"].startswith("bare photos")
    for c in d["attackers"].values():  # every face read falls in one framing bucket
        assert sum(f["n"] for f in c["framing"].values()) == c["n"]
    assert all(b["sex"]["resampled"].endswith("people") for b in rob["framing"].values() if b["n"])  # as the row
    assert realmask_summary(fixed_run, tmp_path, tmp_path / "labels.csv", n_boot=300) == d  # same seed, same row
    monkeypatch.setattr(
        realmask_row, "MEMO_MAX_PHOTOS", 0
    )  # a set too large for the memo: every attacker finds the faces anew
    assert realmask_summary(fixed_run, tmp_path, tmp_path / "labels.csv", n_boot=300) == d


def test_per_class_text_says_how_many_photos_and_people():
    from maskprivacy.analysis.evaluate import per_class_text

    pc = {"male": {"accuracy": 1.0, "photos": 4, "people": 2}, "female": {"accuracy": 0.5, "photos": 2, "people": 1}}
    assert (
        per_class_text(pc, lambda v: f"{v:.0%}")
        == "male 100% of 4 photos / 2 people; female 50% of 2 photos / 1 person"
    )
    assert per_class_text({"male": {"accuracy": 0.25, "photos": 4}}, str) == "male 0.25 of 4 photos"
    assert per_class_text({}, str) == ""


def _reading(path: str, sex_probs, race_probs, found: int = 1, age=None, model="m") -> dict:
    from maskprivacy.data.labels import CLASS_NAMES

    row = {c: None for c in PREDICTION_COLUMNS}
    row.update(path=path, found=found, model=model, sex_true=1, race_true=3, age_pred=age)
    for task, probs in (("sex", sex_probs), ("race", race_probs)):
        if probs is None:
            continue
        row[f"{task}_pred"] = int(np.argmax(probs))
        row.update({f"{task}_prob_{n}": p for n, p in zip(CLASS_NAMES[task], probs)})
    return row


def test_mean_reading_averages_probabilities_of_the_photos_every_attacker_read():
    race_a, race_b = [0.1, 0.1, 0.1, 0.6, 0.1], [0.5, 0.1, 0.1, 0.2, 0.1]
    a = EvalResult(
        n=3,
        faces_found=2,
        metrics={},
        rows=[
            _reading("p1_a.jpg", [0.45, 0.55], race_a, age=30, model="A"),  # female by a hair
            _reading("p2_b.jpg", [0.9, 0.1], race_a, age=20, model="A"),
            _reading("p3_c.jpg", None, None, found=0, model=""),  # no face for A
        ],
    )
    b = EvalResult(
        n=3,
        faces_found=3,
        metrics={},
        rows=[
            _reading("p1_a.jpg", [0.75, 0.25], race_b, age=40, model="B"),  # male, surely
            _reading("p2_b.jpg", [0.2, 0.8], race_b, age=None, model="B"),
            _reading("p3_c.jpg", [0.1, 0.9], race_b, age=50, model="B"),
        ],
    )
    m = mean_reading([a, b])
    assert m.faces_found == 2 and m.not_found == ["p3_c.jpg"]
    one, two = m.rows
    assert one["path"] == "p1_a.jpg" and one["sex_pred"] == 0  # (0.45 + 0.75) / 2 = 0.6 male
    assert one["sex_prob_male"] == pytest.approx(0.6) and one["race_prob_Indian"] == pytest.approx(0.4)
    assert one["race_pred"] == 3 and one["age_pred"] == pytest.approx(35.0) and one["model"] == "mean of A, B"
    assert two["sex_pred"] == 0 and two["age_pred"] is None  # 0.55 male: A is surer than B; B gave no age


def test_weighted_auc_matches_scikit_learn_with_ties_and_weights():
    from sklearn.metrics import roc_auc_score

    from maskprivacy.analysis.evaluate import weighted_auc

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    score = rng.integers(0, 8, 60) / 8  # many ties
    w = rng.integers(0, 4, (5, 60)).astype(float)
    got = weighted_auc(y, score, w)
    want = [roc_auc_score(y, score, sample_weight=row) for row in w]
    assert got == pytest.approx(want)
    assert np.isnan(weighted_auc(y, score, (y == 1)[None].astype(float)))[0]  # no negative drawn


def test_auc_with_ci_ranks_people_whatever_the_threshold():
    from maskprivacy.analysis.evaluate import auc_with_ci

    rows = []
    for person, sex, p_female in (("p1", 1, 0.45), ("p2", 1, 0.3), ("p3", 0, 0.4), ("p4", 0, 0.1)):
        for k in range(2):
            row = _reading(f"images/{person}_1{k}.jpg", [1 - p_female, p_female], None)
            row["sex_true"] = sex
            rows.append(row)
    # every photo is read "male" (accuracy 0.5, balanced 0.5), but women rank above men in 3 of 4 pairs
    d = auc_with_ci(rows, "sex", n_boot=400)
    assert d["auc"] == pytest.approx(0.75)
    lo, hi = d["auc_ci"]
    assert 0.0 <= lo <= 0.75 <= hi <= 1.0 and lo < hi
    assert auc_with_ci(rows, "sex", n_boot=400) == d  # same seed, same interval
    assert auc_with_ci([r for r in rows if r["sex_true"] == 0], "sex")["auc"] is None  # one class only
    with pytest.raises(ValueError, match="two-class"):
        auc_with_ci(rows, "race")


def test_a_label_path_that_leaves_the_folder_is_not_read(fixed_run, good_faces, tmp_path):
    """A labels file is input too: ``../x.jpg`` names a real photo outside --images, and nothing reads it."""
    root = tmp_path / "images"
    root.mkdir()
    shutil.copy(good_faces[0], tmp_path / "outside.jpg")
    shutil.copy(good_faces[1], root / "in.jpg")
    (root / "labels.csv").write_text("path,sex,masked\n../outside.jpg,0,1\nin.jpg,1,0\n")
    res = evaluate(root, root / "labels.csv", fixed_run)
    assert res.faces_found == 1 and [e["path"] for e in res.errors] == ["../outside.jpg"]
    assert "leaves the images folder" in res.errors[0]["reason"]
    mc = res.mask_check
    assert [e["path"] for e in mc["errors"]] == ["../outside.jpg"] and "leaves" in mc["errors"][0]["reason"]
    assert mc["checks"]["colour"]["support"] == {"bare": 1, "masked": 0}


@pytest.fixture(scope="module")
def framed_folder(tmp_path_factory, good_faces, group_photo, close_up, jpeg):
    """Two bare faces well inside big photos (nothing beyond the frame) and two close-ups told "masked"."""
    root = tmp_path_factory.mktemp("framed")
    rows = [("far0.jpg", 0, 3, 0), ("far1.jpg", 1, 2, 0), ("near0.jpg", 0, 0, 1), ("near1.jpg", 0, 0, 1)]
    photos = [group_photo([good_faces[2]], (900, 700), 200), group_photo([good_faces[3]], (900, 700), 200)]
    photos += [close_up(good_faces[0]), close_up(good_faces[1])]
    for (name, *_), rgb in zip(rows, photos):
        (root / name).write_bytes(jpeg(rgb))
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "sex", "race", "masked"])
        w.writerows(rows)
    return root


def test_evaluate_reports_the_figures_per_framing_bucket(fixed_run, framed_folder, tmp_path, capsys):
    from maskprivacy.faces.align import FRAMING_MOST, FRAMING_SOME

    args = ["evaluate", "--images", str(framed_folder), "--labels", str(framed_folder / "labels.csv")]
    args += ["--model", str(fixed_run), "--predictions", str(tmp_path / "p.csv")]
    assert main(args + ["--json"]) == 0
    fr = json.loads(capsys.readouterr().out)["framing"]
    assert f"{FRAMING_SOME:.0%}" in fr["buckets"]["none"] and f"{FRAMING_MOST:.0%}" in fr["buckets"]["most"]
    none, some, most = (fr["all_faces"][b] for b in ("none", "some", "most"))
    assert (none["n"], some["n"], most["n"]) == (2, 0, 2)
    # far: bare, read female / Indian by the unmasked attacker; near: real mask, read male / White by the robust one
    assert none["sex"]["accuracy"] == pytest.approx(0.5) and none["sex"]["balanced_accuracy"] == pytest.approx(0.5)
    assert none["sex"]["auc"] == pytest.approx(0.5)  # both sexes, one answer: no ranking
    assert none["race"]["accuracy"] == pytest.approx(0.5)
    assert most["sex"]["accuracy"] == 1 and most["race"]["accuracy"] == 1
    assert most["sex"]["auc"] is None  # only men among the close-ups: no AUC
    assert some["sex"]["accuracy"] is None and some["sex"]["auc"] is None
    assert [fr["already_masked"][b]["n"] for b in ("none", "some", "most")] == [0, 0, 2]
    with open(tmp_path / "p.csv", newline="") as fh:
        share = {r["path"]: float(r["beyond_frame"]) for r in csv.DictReader(fh)}
    assert share["far0.jpg"] < FRAMING_SOME and share["far1.jpg"] < FRAMING_SOME
    assert share["near0.jpg"] >= FRAMING_MOST and share["near1.jpg"] >= FRAMING_MOST
    assert main(args + ["--quiet"]) == 0
    out = capsys.readouterr().out
    assert "by framing (share of the aligned face crop" in out
    assert "every face: none 2 faces: sex 50.0% (balanced 50.0%, AUC 0.500), race 50.0%; some 0 faces; most 2" in out
    assert "faces already wearing a mask: none 0 faces; some 0 faces; most 2 faces: sex 100.0% (balanced" in out
