"""The dlib attacker's heads: which candidates are tried at which training size, choice on validation."""

from __future__ import annotations

import numpy as np
import pytest

from maskprivacy.training import heads as H


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 16)).astype(np.float32)
    y = {
        "sex": (X[:, 0] > 0).astype(int),
        "race": np.digitize(X[:, 1], [-1.0, -0.3, 0.3, 1.0]),
        "age_bucket": np.digitize(X[:, 2], np.linspace(-1.5, 1.5, 6)),
        "age": np.clip(40 + 15 * X[:, 2], 1, 100),
    }
    return X, y


def test_kernel_heads_only_where_they_are_affordable():
    y = np.arange(100) % 2
    assert {"logreg", "mlp", "svc_rbf_c1", "svc_rbf_c10"} == set(H.classifier_candidates(y))
    big = np.arange(H.KERNEL_MAX_TRAIN + 1) % 2
    assert set(H.classifier_candidates(big)) == {"logreg", "mlp"}
    assert set(H.regressor_candidates(100)) == {"ridge", "mlp_logage", "svr_rbf", "svr_rbf_logage"}
    assert set(H.regressor_candidates(H.KERNEL_MAX_TRAIN + 1)) == {
        "ridge",
        "mlp_logage",
        f"svr_rbf_logage_sub{H.KERNEL_MAX_TRAIN}",
    }


def test_fit_heads_chooses_on_validation_and_records_every_candidate(monkeypatch):
    monkeypatch.setattr(H, "KERNEL_MAX_TRAIN", 100)  # 300 training faces: the large-set candidates
    Xtr, ytr = _data(300, 1)
    Xva, yva = _data(120, 2)
    heads, record = H.fit_heads(Xtr, ytr, Xva, yva, seed=0)
    for task in ("sex", "race", "age_bucket"):
        r = record[task]
        assert set(r["val"]) == {"logreg", "mlp"} and r["n_train"] == 300
        assert r["val"][r["chosen"]] == max(r["val"].values())
    assert set(record["age"]["val"]) == {"ridge", "mlp_logage", "svr_rbf_logage_sub100"}
    assert record["age"]["val"][record["age"]["chosen"]] == min(record["age"]["val"].values())
    assert record["sex"]["val"][record["sex"]["chosen"]] > 0.9  # a linear rule: both heads read it
    p = H.full_proba(heads["race"], Xva, 5)
    assert p.shape == (120, 5) and np.allclose(p.sum(1), 1.0)


def test_subsampled_head_fits_on_a_seeded_subset():
    from sklearn.linear_model import LinearRegression

    X, y = _data(500)
    a = H.Subsampled(LinearRegression(), 50, seed=3).fit(X, y["age"])
    b = H.Subsampled(LinearRegression(), 50, seed=3).fit(X, y["age"])
    c = H.Subsampled(LinearRegression(), 50, seed=4).fit(X, y["age"])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert not np.allclose(a.predict(X), c.predict(X))
    full = H.Subsampled(LinearRegression(), 10_000).fit(X, y["age"])  # fewer rows than n: all of them
    np.testing.assert_allclose(full.predict(X), LinearRegression().fit(X, y["age"]).predict(X))


def test_a_single_class_is_a_clear_error():
    X, y = _data(50)
    y["sex"][:] = 1
    with pytest.raises(ValueError, match="single class"):
        H.fit_heads(X, y, X, y)
