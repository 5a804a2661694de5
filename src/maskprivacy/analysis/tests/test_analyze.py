"""analyze(): the right model reads each face, readings are well formed, the mask check works."""

from __future__ import annotations

import json

import numpy as np
import pytest

import maskprivacy
from maskprivacy.analysis.analyzer import analyze, get_analyzer
from maskprivacy.analysis.model_set import NoModelsError
from maskprivacy.faces.landmarks import get_landmarker
from maskprivacy.faces.maskcheck import looks_masked
from maskprivacy.masking.api import load_rgb
from maskprivacy.masking.draw import draw_mask


def _masked_version(path, style, color="white"):
    rgb = load_rgb(path)
    pts = get_landmarker("fast").faces(rgb)[0].points
    return draw_mask(rgb, pts, style=style, color=color, key=path.name)


def test_mask_check_tells_bare_from_masked(good_faces):
    bare = [looks_masked(load_rgb(p))[0] for p in good_faces]
    masked = [
        looks_masked(_masked_version(p, s, c))[0]
        for p, (s, c) in zip(
            good_faces,
            [
                ("a", "white"),
                ("surgical", "random"),
                ("n95", "random"),
                ("cloth", "random"),
                ("c", "black"),
                ("e", "white"),
                ("surgical", "random"),
                ("a", "white"),
            ],
        )
    ]
    assert sum(bare) <= 1, bare  # measured: ~6% of bare faces read as masked
    assert sum(masked) >= 7, masked  # measured: ~96% of digitally masked faces caught


def _check_reading(r, model):
    assert r.model == model
    for t, k in (("sex", 2), ("race", 5), ("age_bucket", 7)):
        c = getattr(r, t)
        assert len(c.probabilities) == k and abs(sum(c.probabilities.values()) - 1) < 1e-3
        assert c.label == max(c.probabilities, key=c.probabilities.get) and c.confidence == c.probabilities[c.label]
    assert 0 <= r.age.years <= 116


def test_analyze_bare_face_reads_both_ways(demo_run, face_path):
    res = maskprivacy.analyze(face_path, model=demo_run, mask_style="a")
    assert len(res) == 1
    f = res[0]
    assert not f.already_masked and f.detector in ("blazeface", "hog", "cnn")
    _check_reading(f.as_is, "unmasked_uniform")
    _check_reading(f.masked, "masked_uniform")
    for t in ("sex", "race", "age_bucket"):
        c, before, after = getattr(f.change, t), getattr(f.as_is, t), getattr(f.masked, t)
        assert c.from_ == before.label and c.to == after.label
        assert c.changed == (c.from_ != c.to)
        assert c.confidence_change == pytest.approx(
            after.probabilities[c.from_] - before.probabilities[c.from_], abs=2e-4
        )
    assert f.change.age.delta_years == pytest.approx(f.masked.age.years - f.as_is.age.years, abs=0.11)
    # the digital mask covers the mouth and leaves the eyes alone
    mouth = f.masked_crop[130:160, 80:120].astype(int) - f.crop[130:160, 80:120].astype(int)
    eyes = [f.masked_crop[48:66, x : x + 30].astype(int) - f.crop[48:66, x : x + 30].astype(int) for x in (42, 128)]
    assert np.abs(mouth).mean() > 40 and max(np.abs(e).mean() for e in eyes) < 1
    d = res.to_dict(images=True)
    json.dumps(d)
    assert d["faces"][0]["images"]["face"].startswith("data:image/jpeg;base64,")
    assert res.summary.startswith("Found 1 face.") and "type-a" in res.summary


def test_each_face_says_how_much_of_its_crop_lies_beyond_the_photo(demo_run, good_faces, group_photo, close_up):
    from maskprivacy.faces.align import FRAMING_MOST, FRAMING_SOME

    far, near = (
        maskprivacy.analyze(rgb, model=demo_run, mask_style=None)
        for rgb in (group_photo([good_faces[0]], (900, 700), 200), close_up(good_faces[0]))
    )
    assert far[0].beyond_frame < FRAMING_SOME <= FRAMING_MOST <= near[0].beyond_frame
    assert json.loads(json.dumps(near.to_dict()))["faces"][0]["beyond_frame"] == round(near[0].beyond_frame, 4)


def test_already_masked_faces_go_to_the_masked_models_without_a_second_mask(demo_run, face_path):
    told = analyze(_masked_version(face_path, "surgical", "random"), model=demo_run, already_masked=True)[0]
    assert told.already_masked and told.masked_reason == "told by caller"
    _check_reading(told.as_is, "masked_uniform")
    assert told.masked is None and told.masked_crop is None and told.change is None
    auto = analyze(_masked_version(face_path, "a"), model=demo_run)[0]
    assert auto.already_masked and "below" in auto.masked_reason
    assert "already wears a mask" in analyze(_masked_version(face_path, "a"), model=demo_run).summary


def test_no_mask_style_no_face_and_batch(demo_run, face_path, good_faces):
    plain = analyze(face_path, model=demo_run, mask_style=None)[0]
    assert plain.masked is None and plain.as_is is not None
    noise = (np.random.default_rng(0).random((240, 240, 3)) * 50 + 100).astype(np.uint8)
    empty = analyze(noise, model=demo_run)
    assert len(empty) == 0 and empty.summary == "No face was found in this photo."
    an = get_analyzer(demo_run)
    batch = an.analyze_batch([load_rgb(p) for p in good_faces[:3]], "a")
    for p, b in zip(good_faces[:3], batch):
        one = an.analyze(load_rgb(p), "a")
        for key in ("as_is", "masked"):
            a1, b1 = getattr(one[0], key), getattr(b[0], key)
            np.testing.assert_allclose(
                list(a1.race.probabilities.values()), list(b1.race.probabilities.values()), atol=1e-3
            )


def test_missing_models_and_bad_style_give_clear_errors(tmp_path, demo_run, face_path):
    with pytest.raises(NoModelsError, match="no trained models in .*reproduce"):
        analyze(face_path, model=tmp_path)
    with pytest.raises(NoModelsError):
        analyze(face_path, model=tmp_path / "missing")
    with pytest.raises(ValueError, match="mask style"):
        analyze(face_path, model=demo_run, mask_style="zz")


def test_faces_are_resized_like_the_training_cache(tmp_path, face_path):
    """A run trained on an 80-px cache gets 80-px faces, resized as the cache was (area averaging)."""
    import cv2

    from maskprivacy.analysis.analyzer import Analyzer
    from maskprivacy.analysis.demo_run import make_demo_run
    from maskprivacy.analysis.model_set import ModelSet

    run = make_demo_run(tmp_path / "run", input_size=32)
    assert ModelSet(run).side == {"unmasked": None, "masked": None}
    for c in ("unmasked", "masked"):
        (run / "cache" / f"{c}_s80").mkdir(parents=True)
    an = Analyzer(run)
    assert an.models.side == {"unmasked": 80, "masked": 80}
    f = an.analyze(load_rgb(face_path), None)[0]
    direct = an.models.unmasked.predict(cv2.resize(f.crop, (80, 80), interpolation=cv2.INTER_AREA))
    np.testing.assert_allclose(list(f.as_is.race.probabilities.values()), direct["race"][0], atol=1e-4)
    assert ModelSet(make_demo_run(tmp_path / "r2", input_size=32, cache_size=64)).side == {"unmasked": 64, "masked": 64}


def test_flip_averaging_can_be_switched_off_per_analyzer(demo_run, face_path):
    fast, exact = get_analyzer(demo_run, tta=False), get_analyzer(demo_run)
    assert fast is not exact
    assert not fast.models.unmasked.tta and not fast.models.masked.tta
    assert exact.models.unmasked.tta and exact.models.masked.tta  # bundles' own setting untouched
    a = fast.analyze(load_rgb(face_path))[0].as_is.sex.probabilities["male"]
    b = exact.analyze(load_rgb(face_path))[0].as_is.sex.probabilities["male"]
    assert a != b


def test_reader_rule():
    """One rule for analyze, evaluate and the API: real masks go to the real-mask attacker when there is one,
    else to the mask-robust one, else to the paper-style one."""
    from maskprivacy.analysis.routing import reader_for

    assert reader_for(False) == "unmasked" and reader_for(False, digital=True) == "masked"
    assert reader_for(True) == "real"
    assert reader_for(True, available=("unmasked", "masked", "robust")) == "robust"
    assert reader_for(True, available=("unmasked", "masked")) == "masked"
    assert reader_for(True, real_mask="masked") == "masked"
    assert reader_for(False, digital=True, real_mask="robust") == "masked"  # digital masks: the paper's attacker
    # a real mask painted over with the paper's mask: the paper's attacker, unless one is forced
    assert reader_for(True, covered=True) == "masked"
    assert reader_for(True, covered=True, available=("unmasked", "robust")) == "robust"
    assert reader_for(True, covered=True, real_mask="robust") == "robust"
    with pytest.raises(ValueError, match="real_mask"):
        reader_for(True, real_mask="cnn")


def test_real_masks_go_to_the_robust_attacker_when_the_run_has_one(tmp_path, face_path):
    from maskprivacy.analysis.analyzer import Analyzer
    from maskprivacy.analysis.demo_run import make_demo_run

    run = make_demo_run(tmp_path / "run", input_size=32, robust=True)
    real = _masked_version(face_path, "surgical", "random")
    an = Analyzer(run)
    assert an.models.names() == ["unmasked_uniform", "masked_uniform", "robust_uniform"]
    f = an.analyze(real, "a", already_masked=True)[0]
    _check_reading(f.as_is, "robust_uniform")
    assert (
        "robust_uniform" in " ".join(f.notes)
        and "mask-robust model reads" in an.analyze(real, "a", already_masked=True).summary
    )
    bare = an.analyze(load_rgb(face_path), "a", already_masked=False)[0]
    _check_reading(bare.as_is, "unmasked_uniform")
    _check_reading(bare.masked, "masked_uniform")  # a digital type-a mask: the paper's attacker
    forced = Analyzer(run, real_mask="masked").analyze(real, "a", already_masked=True)[0]
    _check_reading(forced.as_is, "masked_uniform")
    assert forced.as_is.sex.probabilities != f.as_is.sex.probabilities
    # painted over with the paper's mask: read by the paper-style attacker, the painted crop returned
    cov = Analyzer(run, cover=True).analyze(real, "a", already_masked=True)[0]
    _check_reading(cov.as_is, "masked_uniform")
    assert not np.array_equal(cov.masked_crop, cov.crop)  # what the attacker read: the painted face
    assert cov.masked is None and cov.masked_crop is not None and (cov.masked_crop == 255).all(axis=2).mean() > 0.2
    assert "painted over" in " ".join(cov.notes)
    # a run without a robust model: the paper-style attacker, as before; asking for robust is a clear error
    old = make_demo_run(tmp_path / "old", input_size=32)
    _check_reading(Analyzer(old).analyze(real, None, already_masked=True)[0].as_is, "masked_uniform")
    with pytest.raises(NoModelsError, match="no robust_uniform model"):
        Analyzer(old, real_mask="robust")


def test_the_runs_mask_detector_decides_when_nobody_says(tmp_path, face_path, constant_mask_detector):
    from maskprivacy.analysis.analyzer import Analyzer
    from maskprivacy.analysis.demo_run import make_demo_run

    run = make_demo_run(tmp_path / "run", input_size=32)
    bare = load_rgb(face_path)
    with pytest.raises(NoModelsError, match="no mask detector"):
        Analyzer(run, mask_check="detector")
    with pytest.raises(ValueError, match="mask_check"):
        Analyzer(run, mask_check="colours")
    assert not Analyzer(run).analyze(bare, "a")[0].already_masked  # no detector: the colour check decides
    constant_mask_detector(run, 4.0)  # says "masked" to every face
    f = Analyzer(run).analyze(bare, "a")[0]
    assert f.already_masked and "mask detector" in f.masked_reason and "0.98" in f.masked_reason
    assert f.to_dict()["mask_probability"] == pytest.approx(0.982, abs=1e-3)  # sigmoid(4)
    _check_reading(f.as_is, "masked_uniform")  # routed as a masked face (this run has no robust model)
    assert f.masked is None  # and given no second, digital mask
    colour = Analyzer(run, mask_check="colour").analyze(bare, "a")[0]
    assert not colour.already_masked and "skin colour" in colour.masked_reason
    assert colour.to_dict()["mask_probability"] is None
    told = Analyzer(run).analyze(bare, "a", already_masked=False)[0]  # the caller's word beats any check
    assert not told.already_masked and told.masked_reason == "told by caller"


def test_a_memo_finds_told_faces_once_across_analyzers(tmp_path, face_path, monkeypatch):
    """realmask_summary's shortcut: the same photo read by several analyzers is found and aligned once,
    and every reading is what it is without the memo."""
    import maskprivacy.analysis.analyzer as analyzer_module
    from maskprivacy.analysis.analyzer import Analyzer
    from maskprivacy.analysis.demo_run import make_demo_run

    run = make_demo_run(tmp_path / "run", input_size=32, robust=True)
    real = _masked_version(face_path, "surgical", "random")
    plain = [
        Analyzer(run, real_mask=c).analyze_batch([real], None, already_masked=True)[0] for c in ("masked", "robust")
    ]
    calls = []
    found = analyzer_module.find_faces
    monkeypatch.setattr(analyzer_module, "find_faces", lambda *a, **k: calls.append(1) or found(*a, **k))
    memo: dict = {}
    with_memo = [
        Analyzer(run, real_mask=c).analyze_batch([real], None, already_masked=True, memo=memo)[0]
        for c in ("masked", "robust")
    ]
    assert len(calls) == 1 and len(memo) == 1
    for a, b in zip(plain, with_memo):
        assert a.to_dict() == b.to_dict()
    Analyzer(run).analyze_batch([real], None, already_masked=None, memo=memo)  # undecided faces are not memoised
    assert len(calls) == 2 and len(memo) == 1


def test_the_shipped_portrait_is_read_bare_and_masked(demo_run, shipped_portrait):
    """With no ../shared: the portrait matplotlib ships, through the whole analysis."""
    res = analyze(shipped_portrait, model=demo_run, mask_style="a", already_masked=False)
    assert len(res) == 1 and res.n_faces == 1
    f = res[0]
    _check_reading(f.as_is, "unmasked_uniform")
    _check_reading(f.masked, "masked_uniform")
    assert f.change is not None and set(f.change.class_changes()) == {"sex", "race", "age_bucket"}
    d = res.to_dict()
    assert list(d) == ["width", "height", "model", "mask_style", "mask_color", "n_faces", "faces", "summary", "notes"]
    assert (d["width"], d["height"]) == (512, 600) and d["summary"].startswith("Found 1 face.")
