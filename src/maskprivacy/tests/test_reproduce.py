"""End to end: `maskprivacy reproduce --profile smoke` on the 619-file sample, then resume and --force."""

import csv
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from maskprivacy.cli import main

pytestmark = pytest.mark.slow


def _small_real_mask_set(dst, realmask):
    """Four people of realmask-dev (two women, two men), each with and without a mask, or None when absent."""
    if not (realmask / "labels.csv").is_file():
        return None
    with (realmask / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))
    people: dict[str, list[dict]] = {}
    for r in rows:
        people.setdefault(Path(r["path"]).name.split("_")[0], []).append(r)
    chosen = []
    for sex in ("1", "0"):
        whole = [
            p for p, rs in sorted(people.items()) if rs[0]["sex"] == sex and {r["masked"] for r in rs} == {"0", "1"}
        ]
        chosen += [next(r for r in people[p] if r["masked"] == m) for p in whole[:2] for m in ("0", "1")]
    (dst / "images").mkdir(parents=True)
    for r in chosen:
        shutil.copy(realmask / r["path"], dst / r["path"])
    with (dst / "labels.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(chosen)
    return dst


def _small_real_train_set(dst, realmask_train):
    """Twelve photos of realmask-train (blanks included), or None when absent."""
    if not (realmask_train / "labels.csv").is_file():
        return None
    with (realmask_train / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))
    chosen = [r for r in rows if r["sex"] == "1"][:5] + [r for r in rows if r["sex"] == "0"][:5]
    chosen += [r for r in rows if r["sex"] == ""][:2]
    (dst / "images").mkdir(parents=True)
    for r in chosen:
        shutil.copy(realmask_train / r["path"], dst / "images" / Path(r["path"]).name)
        r["path"] = f"images/{Path(r['path']).name}"
    with (dst / "labels.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(chosen)
    return dst


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, sample_dir, realmask_root):
    run = tmp_path_factory.mktemp("reproduce") / "run"
    real = _small_real_mask_set(tmp_path_factory.mktemp("realmask") / "set", realmask_root)
    train = _small_real_train_set(tmp_path_factory.mktemp("realtrain") / "set", realmask_root.parent / "realmask-train")
    code = main(
        [
            "reproduce",
            "--data",
            str(sample_dir),
            "--profile",
            "smoke",
            "--out",
            str(run),
            "--quiet",
            *(["--real-masks", str(real)] if real else []),
            *(["--real-masks-train", str(train)] if train else []),
        ]
    )
    assert code == 0
    return run


def test_real_masks_stage_writes_the_row_of_every_masked_face_attacker(smoke_run):
    real = smoke_run / "realmask.json"
    if not real.is_file():
        pytest.skip("realmask-dev not found beside the repo")
    d = json.loads(real.read_text())
    # every masked-face attacker of every family: the CNN's, the face network's (RUN/facenet/) and the
    # age network's (RUN/agenet/)
    trained_on_real = (smoke_run / "train" / "real_uniform" / "model.pt").is_file()
    assert set(d["attackers"]) == {
        f"{family}_{a}"
        for family in ("cnn", "facenet", "agenet")
        for a in (
            "masked",
            "robust",
            "adaptive",
            "masked_digital_a",
            "masked_covered",
            *(["real"] if trained_on_real else []),
        )
    } | {"ensemble_robust"}  # the mask-robust attackers' mean
    for a in d["attackers"].values():
        assert a["n"] + a["not_found"] == 4
        lo, hi = a["sex"]["ci"]
        assert lo <= a["sex"]["accuracy"] <= hi
        if a["n"] == 4:  # two women and two men read: the ranking is defined
            assert 0.0 <= a["sex"]["auc"] <= 1.0
    res = json.loads((smoke_run / "results.json").read_text())
    assert res["styles"]["realmask"]["attackers"].keys() == d["attackers"].keys()
    md = (smoke_run / "report.md").read_text()
    assert "different population" in md and "; AUC " in md
    assert re.search(r" photos / \d+ (person|people)", md)  # per class: how many photos and people it rests on
    # the masked-or-bare decision on the same photos: the colour check and the run's trained detector
    checks = d["mask_check"]["checks"]
    assert checks.keys() == {"colour", "detector"}
    for m in checks.values():
        assert sum(map(sum, m["confusion"])) + d["mask_check"]["not_found"] == 8
    assert "Masked or bare?" in md and "the run's mask detector" in md


def test_real_photos_train_the_real_mask_attacker_and_choose_the_readers(smoke_run):
    real = smoke_run / "real" / "train"
    if not real.is_dir():
        pytest.skip("realmask-train not found beside the repo")
    meta = json.loads((real / "meta.json").read_text())
    assert meta["listed"] == 12 and meta["n"] + meta["status"].get("no_face", 0) == 12
    with (real / "labels.csv").open() as f:
        labelled = sum(r["sex"] != "-1" or r["race"] != "-1" for r in csv.DictReader(f))  # blanks teach no loss
    for family_root in (smoke_run, smoke_run / "facenet"):
        m = json.loads((family_root / "train" / "real_uniform" / "metrics.json").read_text())
        assert (
            m["n_test"] == json.loads((smoke_run / "train" / "robust_uniform" / "metrics.json").read_text())["n_test"]
        )
        info = json.loads((family_root / "train" / "real_uniform" / "model.json").read_text())
        dev = smoke_run / "real" / "dev"  # realmask-dev's people (with --real-masks): every one in the shipped model
        with (dev / "labels.csv").open() as f:
            dev_people = {r["person"] for r in csv.DictReader(f)}
        assert info["init"] == "robust" and set(info["real_photos"]["people"]) == dev_people
        # the shipped weights: the fine-tuned ones mixed with the start's, the mix of least validation loss
        mix = info["weight_mix"]
        assert mix["start"] == "robust" and set(mix["val_loss"]) == {"0.25", "0.5", "0.75", "1"}
        assert mix["val_loss"][f"{mix['alpha']:g}"] == min(mix["val_loss"].values())
        assert (
            info["real_photos"]["train"] + info["real_photos"]["val"]
            == labelled + len(list(csv.reader(dev.joinpath("labels.csv").open()))) - 1
        )
        # each fold model learnt without its own fold's people, and the realmask row reads them out of fold
        folds = json.loads((family_root / "real_folds" / "folds.json").read_text())
        assert folds["k"] == 2 and {p["person"] for p in folds["photos"]} == dev_people
        for f in range(2):
            seen = json.loads((family_root / "real_folds" / f"fold_{f}" / "model.json").read_text())["real_photos"][
                "people"
            ]
            assert seen and not set(seen) & {p["person"] for p in folds["photos"] if p["fold"] == f}
        assert (family_root / "real_folds" / "oof_predictions.csv").is_file()
    readers = json.loads((smoke_run / "readers.json").read_text())
    assert set(readers["roles"]) == {"bare", "digital", "real_mask", "occluded"}
    for r in readers["roles"].values():
        assert (smoke_run / r["model"]).is_file() and r["name"] in r["candidates"]
    # the user's reader of a real mask is the recorded one
    from maskprivacy.analysis.model_set import ModelSet

    assert ModelSet(smoke_run).name("robust") == readers["roles"]["real_mask"]["name"]
    res = json.loads((smoke_run / "results.json").read_text())
    assert "cnn_real" in res["attackers"] and "facenet_real" in res["attackers"]
    realmask = json.loads((smoke_run / "realmask.json").read_text())
    assert realmask["attackers"]["cnn_real"]["cross_validated"]["k"] == 2 and "cross_validated" in realmask
    assert ", out of 2 person folds (n=" in (smoke_run / "report.md").read_text()


def test_protection_stage_reads_every_occlusion_with_the_naive_and_the_adaptive_attackers(smoke_run):
    from maskprivacy.analysis.model_set import ModelSet
    from maskprivacy.masking.occluders import OCCLUSIONS
    from maskprivacy.report.protection import answer_sentence

    res = json.loads((smoke_run / "results.json").read_text())
    occ = res["occlusions"]
    assert occ == json.loads((smoke_run / "occlusions.json").read_text())
    # every occlusion of the catalog, bare, and the paper's mask alone, each read by the three attackers
    assert set(occ["occlusions"]) == {"bare", "mask", *OCCLUSIONS}
    roles = occ["attackers"]
    assert set(roles) == {"naive_paper", "naive", "adaptive"}
    assert roles["naive_paper"]["attacker"] == "cnn" and roles["naive"]["condition"] != "adaptive"
    assert roles["adaptive"]["condition"] == "adaptive" and (smoke_run / roles["adaptive"]["model"]).is_file()
    with (smoke_run / "splits" / "uniform.csv").open() as f:
        assert occ["n_test"] == occ["n_test_split"] == sum(r["part"] == "test" for r in csv.DictReader(f))
    for name, e in occ["occlusions"].items():
        assert set(e["attackers"]) == set(roles), name
        assert 0.0 <= e["hidden"] <= 1.0 and e["hidden_ci"][0] <= e["hidden"] <= e["hidden_ci"][1]
        for c in e["attackers"].values():
            for t in ("sex", "race", "age_bucket"):
                lo, hi = c[t]["ci"]
                assert lo <= c[t]["accuracy"] <= hi
            assert c["age"]["mae"] > 0 and c["pvi"] >= 0
        assert e["adaptive_vs_naive"]["n"] == occ["n_test"]
    rows = occ["occlusions"]
    assert rows["bare"]["hidden"] == 0.0 and rows["blur-high"]["hidden"] > rows["clear-glasses"]["hidden"] > 0
    assert rows["mask+sunglasses"]["hidden"] > rows["mask"]["hidden"]
    # the adaptive attackers are attackers of the run, tested on the paper's mask like the others
    for a in ("cnn_adaptive", "facenet_adaptive"):
        for split in ("uniform", "random"):
            assert res["attackers"][a]["masked"][split]["n_test"] == res["masked"][split]["n_test"]
    recorded = json.loads((smoke_run / "stages.json").read_text())
    for stage in ("train_adaptive_uniform", "train_adaptive_random", "train_facenet_adaptive", "protection"):
        # the stage ran to its end, and results.json carries what stages.json recorded for it
        assert recorded[stage]["done"] and res["stages"][stage] == recorded[stage], stage
    # the report: the sentence (read from the figures) and the frontier plot
    assert (smoke_run / "figures" / "occlusions.png").stat().st_size > 5000
    md = (smoke_run / "report.md").read_text()
    assert "What would protect me?" in md and answer_sentence(occ) in md and "figures/occlusions.png" in md
    # the reader of occluded faces, chosen on occluded validation faces, is the one protect reads with
    chosen = json.loads((smoke_run / "readers.json").read_text())["roles"]["occluded"]
    assert chosen["name"] in chosen["candidates"] and (smoke_run / chosen["model"]).is_file()
    assert chosen["condition"] == "adaptive" and chosen["attacker"] == roles["adaptive"]["attacker"]
    assert {"masked_uniform", "robust_uniform", "adaptive_uniform"} <= set(chosen["candidates"])
    assert ModelSet(smoke_run).name("adaptive") == chosen["name"]


def _accuracy_from_predictions(path, task):
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return sum(int(float(r[f"{task}_true"])) == int(float(r[f"{task}_pred"])) for r in rows) / len(rows), len(rows)


def test_results_json_holds_values_computed_in_the_run(smoke_run):
    res = json.loads((smoke_run / "results.json").read_text())
    with (smoke_run / "splits" / "uniform.csv").open() as f:
        n_test = sum(r["part"] == "test" for r in csv.DictReader(f))
    for cond in ("masked", "unmasked"):
        for split in ("uniform", "random"):
            r = res[cond][split]
            for task in ("sex", "race", "age_bucket"):
                assert 0.0 <= r[task]["accuracy"] <= 1.0
            assert r["age"]["mae"] > 0 and r["age"]["rmse"] >= r["age"]["mae"]
            acc, n = _accuracy_from_predictions(smoke_run / "train" / f"{cond}_{split}" / "predictions.csv", "race")
            assert r["race"]["accuracy"] == pytest.approx(acc)
            if split == "uniform":
                assert n == n_test
    pvi = res["pvi"]
    assert 0.0 <= pvi["unmasked"] <= 1.0 and 0.0 <= pvi["masked"] <= 1.0
    recorded = json.loads((smoke_run / "stages.json").read_text())
    for stage in (
        "inspect",
        "mask",
        "figures",
        "cache",
        "splits",
        "mask_detector",
        "pretrain_masked",
        "train_masked_uniform",
        "train_robust_uniform",
        "train_robust_random",
        "train_unmasked_random",
        "dlib",
        "styles",
        "pvi",
    ):
        # every stage ran to its end, and results.json carries what stages.json recorded for it
        assert recorded[stage]["done"] and res["stages"][stage] == recorded[stage], stage
        assert isinstance(recorded[stage]["wall_s"], float), stage
    # results.json is written once, by the report stage, which cannot know its own time: stages.json does
    assert "report" not in res["stages"]
    assert recorded["report"]["done"] and isinstance(recorded["report"]["wall_s"], float)
    assert res["dataset"]["labelled"] > 0  # the inspect stage's counts reach the report
    assert res["attackers"].keys() >= {
        "cnn",
        "dlib",
        "cnn_robust",
        "facenet",
        "facenet_robust",
        "agenet",
        "agenet_robust",
    }
    # the mask-robust attacker: its own entry, tested on the same masked faces as the paper-style one
    for split in ("uniform", "random"):
        rob = res["attackers"]["cnn_robust"]["masked"][split]
        assert rob["n_test"] == res["masked"][split]["n_test"] and 0 <= rob["sex"]["accuracy"] <= 1
        acc, _ = _accuracy_from_predictions(smoke_run / "train" / f"robust_{split}" / "predictions.csv", "sex")
        assert rob["sex"]["accuracy"] == pytest.approx(acc)
    assert "cnn_robust" in res["strongest"]["masked"]["uniform"]["sex"]["of"]


def test_protection_by_style_table(smoke_run):
    from maskprivacy.masking.draw import STYLES

    res = json.loads((smoke_run / "results.json").read_text())
    st = res["styles"]
    assert list(st["styles"]) == ["bare", *STYLES]
    assert st["best"] in STYLES and st["worst"] in STYLES
    strongest = {s: r["attackers"][r["strongest"]]["pvi"] for s, r in st["styles"].items() if s != "bare"}
    assert strongest[st["best"]] == min(strongest.values()) and strongest[st["worst"]] == max(strongest.values())
    assert st["reference"] == {"attacker": "cnn_unmasked", "style": "bare"}
    red = st["styles"]["bare"]["attackers"]["cnn_unmasked"]["reduction"]  # the reference against itself
    assert red is None or red == pytest.approx(0.0)
    for style, row in st["styles"].items():
        assert set(row["attackers"]) == {"cnn_masked", "cnn_unmasked", "cnn_robust"}, style
        assert row["strongest"] in row["attackers"]
        for a, c in row["attackers"].items():
            for t in ("sex", "race", "age_bucket"):
                lo, hi = c[t]["ci"]
                assert lo <= c[t]["accuracy"] <= hi, (style, a, t)
            assert c["age"]["mae"] > 0 and 0 <= c["pvi"] <= 1
    # the 'a' row is the masked test faces themselves and 'bare' the unmasked ones: same numbers as the
    # attackers' own evaluations (same faces, same test-time augmentation)
    assert st["styles"]["a"]["attackers"]["cnn_masked"]["sex"]["accuracy"] == pytest.approx(
        res["masked"]["uniform"]["sex"]["accuracy"]
    )
    assert st["styles"]["bare"]["attackers"]["cnn_unmasked"]["race"]["accuracy"] == pytest.approx(
        res["unmasked"]["uniform"]["race"]["accuracy"]
    )
    assert st["styles"]["a"]["attackers"]["cnn_robust"]["sex"]["accuracy"] == pytest.approx(
        res["attackers"]["cnn_robust"]["masked"]["uniform"]["sex"]["accuracy"]
    )
    assert (smoke_run / "figures" / "styles.png").stat().st_size > 5000
    md = (smoke_run / "report.md").read_text()
    assert md.index("## The answer") < md.index("## Results beside the paper")
    assert "Protection by mask style" in md and "Behind the paper's mask" in md


def unintervalled_figures(node: object, at: str = "") -> list[str]:
    """Paths of the accuracies and MAEs of a results.json without an interval beside them. The paper's
    published figures, the spread over seeds and the real-photo evaluation's per-class counts are
    other kinds of figure and are not looked at."""
    out: list[str] = []
    if isinstance(node, dict):
        for k in ("accuracy", "mae", "model"):
            figure = isinstance(node.get(k), (int, float)) and not isinstance(node.get(k), bool)
            if figure and node.get(f"{k}_ci") is None and node.get("ci") is None:
                out.append(f"{at}{k}")
        for k, v in node.items():
            if k not in ("paper", "seeds", "realmask", "intervals"):
                out += unintervalled_figures(v, f"{at}{k}.")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += unintervalled_figures(v, f"{at}{i}.")
    return out


def test_the_verdict_the_pvi_and_strongest_give_one_answer(smoke_run):
    res = json.loads((smoke_run / "results.json").read_text())
    md = (smoke_run / "report.md").read_text()
    verdict = md.split("## The answer", 1)[1].strip().split("\n\n", 1)[0]
    sex = re.search(r"reads sex correctly ([\d.]+%) \[[^]]+\] \(([\w-]+)\)", verdict)
    best = res["strongest"]["masked"]["uniform"]["sex"]
    assert sex and sex.group(2) == best["attacker"] and sex.group(1) == f"{100 * best['accuracy']:.1f}%"
    pvi = res["pvi"]
    assert pvi["attacker"] == "strongest" and pvi["paired"]
    for c in ("masked", "unmasked"):
        for attribute in ("sex", "race", "age"):
            assert pvi["attributes"][c][attribute]["attacker"] == res["strongest"][c]["uniform"][attribute]["attacker"]
    assert f"{pvi['masked']:.3f}" in verdict and f"{pvi['unmasked']:.3f}" in verdict
    assert f"{100 * pvi['reduction']:.1f}%" in verdict
    assert res["masked"]["uniform"]["sex"]["accuracy_ci"] is not None
    assert unintervalled_figures(res) == []


def test_real_masks_row_is_read_when_present(smoke_run):
    from maskprivacy.report.render import render_report
    from maskprivacy.report.results import write_results

    real = {
        "population": "realmask-dev: test people",
        "attackers": {
            "cnn_robust": {
                "sex": {"accuracy": 0.9, "balanced_accuracy": 0.875, "ci": [0.8, 0.95]},
                "race": {"accuracy": 0.5, "balanced_accuracy": 0.5, "ci": [0.4, 0.6]},
                "n": 40,
            }
        },
    }
    path = smoke_run / "realmask.json"
    stage_output = path.read_bytes() if path.is_file() else None
    path.write_text(json.dumps(real))
    try:
        write_results(smoke_run)
        render_report(smoke_run)
        md = (smoke_run / "report.md").read_text()
        assert "real masks (realmask-dev: test people; different population)" in md and "balanced 87.5%" in md
        assert json.loads((smoke_run / "results.json").read_text())["styles"]["realmask"] == real
    finally:
        if stage_output is None:
            path.unlink()
        else:
            path.write_bytes(stage_output)
        write_results(smoke_run)
        render_report(smoke_run)


def test_report_is_self_contained_and_complete(smoke_run):
    html = (smoke_run / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert html.count("data:image/png;base64,") >= 4  # pipeline, distributions, confusion, PVI
    md = (smoke_run / "report.md").read_text()
    for needle in ("94.65%", "Privacy Vulnerability Index", "masked, uniform", "Wall time"):
        assert needle.lower() in md.lower(), needle


def test_rerun_skips_completed_stages_and_force_redoes_one(smoke_run, sample_dir, capsys):
    before = json.loads((smoke_run / "stages.json").read_text())
    assert (
        main(
            [
                "reproduce",
                "--data",
                str(sample_dir),
                "--profile",
                "smoke",
                "--out",
                str(smoke_run),
                "--quiet",
                "--force",
                "pvi",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "== mask: done" in out and "== train_masked_uniform: done" in out
    assert "== pvi: Privacy" in out
    after = json.loads((smoke_run / "stages.json").read_text())
    assert after["mask"] == before["mask"] and after["pvi"]["finished_at"] >= before["pvi"]["finished_at"]


def test_other_settings_refused(smoke_run, sample_dir, capsys):
    code = main(["reproduce", "--data", str(sample_dir), "--profile", "smoke", "--out", str(smoke_run), "--style", "b"])
    assert code == 2
    assert "other settings" in capsys.readouterr().err


def test_seeds_repeat_the_training_stages_on_the_same_test_faces(smoke_run, sample_dir, capsys):
    args = ["reproduce", "--data", str(sample_dir), "--profile", "smoke", "--out", str(smoke_run), "--quiet"]
    assert main([*args, "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "== seed 2022 (2 of 2)" in out and "== mask: done" in out and "== train_masked_uniform: done" in out
    seed_run = smoke_run / "seeds" / "seed_2022"
    for shared in ("mask", "cache", "splits"):
        assert (seed_run / shared).is_symlink()  # read from the main run, not recomputed
    stages = json.loads((seed_run / "stages.json").read_text())
    assert {"pretrain_masked", "train_masked_uniform", "train_robust_uniform", "train_unmasked_random"} <= set(stages)
    assert "mask" not in stages and "dlib" not in stages
    m0 = json.loads((smoke_run / "train" / "masked_uniform" / "metrics.json").read_text())
    m1 = json.loads((seed_run / "train" / "masked_uniform" / "metrics.json").read_text())
    assert (m0["config"]["seed"], m1["config"]["seed"]) == (2021, 2022)
    p0 = pd.read_csv(smoke_run / "train" / "masked_uniform" / "predictions.csv")
    p1 = pd.read_csv(seed_run / "train" / "masked_uniform" / "predictions.csv")
    assert list(p0["name"]) == list(p1["name"])  # the same test faces
    res = json.loads((smoke_run / "results.json").read_text())
    sex = res["seeds"]["attackers"]["cnn"]["masked"]["uniform"]["sex"]["accuracy"]
    assert sex["values"] == [m0["sex"]["accuracy"], m1["sex"]["accuracy"]] and sex["n"] == 2
    assert sex["mean"] == pytest.approx((sex["values"][0] + sex["values"][1]) / 2)
    assert "dlib" not in res["seeds"]["attackers"]  # not retrained by a seed
    assert "Across training seeds" in (smoke_run / "report.md").read_text()
    # asked again: nothing to do, and --seeds 0 is refused
    assert main([*args, "--seeds", "2"]) == 0
    assert "== train_masked_uniform: done" in capsys.readouterr().out
    assert main([*args, "--seeds", "0"]) == 2
