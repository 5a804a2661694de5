"""scikit-learn heads on fixed face features (the dlib-descriptor attacker), chosen on validation.

Why a choice and not one head: which head reads a 128-D face descriptor best depends on how many
training faces there are. Kernel heads (RBF SVC / SVR) are the strongest on a few thousand faces but
cost O(n^2) memory and more than O(n^2) time, so on every training face of UTKFace (~18,000) they
would dominate the run; a one-hidden-layer MLP scales linearly and takes their place there. Every
candidate that fits the training size is fitted, the one with the best validation score is kept
(accuracy; MAE for age), and every candidate's validation score is recorded.

Candidates:

* classes (sex, race, 7 age buckets): logistic regression; an MLP; RBF SVCs (C = 1, 10) whose
  probabilities come from Platt scaling on 5-fold cross-validated decisions (what
  ``SVC(probability=True)``, deprecated in scikit-learn 1.9, did) when ``n <= KERNEL_MAX_TRAIN``;
* age: ridge; an MLP on log(1 + age); RBF SVRs (on age and on log age) when ``n <= KERNEL_MAX_TRAIN``,
  else the log-age SVR fitted on a seeded subsample of ``KERNEL_MAX_TRAIN`` faces (on UTKFace's
  masked descriptors the MLP and ridge read age worse than the kernel head does from 3,000 faces).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from maskprivacy.data.labels import CLASS_NAMES, FaceLabels
from maskprivacy.tasks import TASK_NAMES

KERNEL_MAX_TRAIN = 6000  # above this many training faces the kernel heads are not tried (cost)


class Subsampled:
    """Fit ``model`` on a seeded subsample of at most ``n`` training rows (a kernel head that would
    cost O(n^2) on every face); predicts with the fitted model. Enough of the estimator API for
    :func:`fit_heads` (fit / predict)."""

    def __init__(self, model: Any, n: int, seed: int = 0):
        self.model, self.n, self.seed = model, int(n), int(seed)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Subsampled":
        rows = np.arange(len(X))
        if len(X) > self.n:
            rows = np.sort(np.random.default_rng(self.seed).choice(len(X), self.n, replace=False))
        self.model.fit(X[rows], y[rows])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)


def _mlp_kwargs(seed: int) -> dict[str, Any]:
    # early stopping on a 10% hold-out of the training faces (never the validation part, which chooses)
    return {
        "hidden_layer_sizes": (256,),
        "alpha": 1e-3,
        "early_stopping": True,
        "max_iter": 300,
        "n_iter_no_change": 10,
        "random_state": seed,
    }


def classifier_candidates(y: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """The class heads worth fitting on ``len(y)`` training faces (module docstring)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    cands: dict[str, Any] = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)),
        "mlp": make_pipeline(StandardScaler(), MLPClassifier(**_mlp_kwargs(seed))),
    }
    counts = np.bincount(y)
    folds = min(5, int(counts.compress(counts > 0).min()))
    if folds >= 2 and len(y) <= KERNEL_MAX_TRAIN:  # calibration needs every class in every fold
        for c in (1.0, 10.0):
            cands[f"svc_rbf_c{c:g}"] = CalibratedClassifierCV(
                make_pipeline(StandardScaler(), SVC(C=c)), cv=folds, ensemble=False
            )
    return cands


def regressor_candidates(n: int, seed: int = 0) -> dict[str, Any]:
    """The age heads worth fitting on ``n`` training faces (module docstring)."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.linear_model import Ridge
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    # age errors grow with age; fitting log(1 + age) weighs a 2-year error on a baby properly
    def log_age(model: Any) -> Any:
        return TransformedTargetRegressor(model, func=np.log1p, inverse_func=np.expm1, check_inverse=False)

    cands: dict[str, Any] = {
        "ridge": make_pipeline(StandardScaler(), Ridge(alpha=10.0)),
        "mlp_logage": log_age(make_pipeline(StandardScaler(), MLPRegressor(**_mlp_kwargs(seed)))),
    }
    if n <= KERNEL_MAX_TRAIN:
        cands["svr_rbf"] = make_pipeline(StandardScaler(), SVR(C=30.0, epsilon=1.0))
        cands["svr_rbf_logage"] = log_age(make_pipeline(StandardScaler(), SVR(C=3.0, epsilon=0.05)))
    else:
        cands[f"svr_rbf_logage_sub{KERNEL_MAX_TRAIN}"] = Subsampled(
            log_age(make_pipeline(StandardScaler(), SVR(C=3.0, epsilon=0.05))), KERNEL_MAX_TRAIN, seed
        )
    return cands


def full_proba(model: Any, X: np.ndarray, k: int) -> np.ndarray:
    """Probabilities over all ``k`` classes even if the training faces lacked one."""
    p = model.predict_proba(X)
    out = np.zeros((len(X), k))
    out[:, np.asarray(model.classes_, int)] = p
    return out


def fit_heads(
    Xtr: np.ndarray, ytr: dict[str, np.ndarray], Xva: np.ndarray, yva: dict[str, np.ndarray], seed: int = 0
) -> tuple[dict[str, Any], dict[str, dict]]:
    """One fitted head per task, chosen on validation (accuracy; MAE for age); and the choice record."""
    heads: dict[str, Any] = {}
    record: dict[str, dict] = {}
    for task in TASK_NAMES:
        if task != "age" and len(np.unique(ytr[task])) < 2:
            raise ValueError(f"{task}: the training faces hold a single class; use more --n-train faces")
        cands = classifier_candidates(ytr[task], seed) if task != "age" else regressor_candidates(len(Xtr), seed)
        scores: dict[str, float] = {}
        fitted: dict[str, Any] = {}
        for cname, model in cands.items():
            model.fit(Xtr, ytr[task])
            fitted[cname] = model
            if len(Xva):
                pred = model.predict(Xva)
                scores[cname] = (
                    float(np.abs(pred - yva[task]).mean()) if task == "age" else float((pred == yva[task]).mean())
                )
        if scores:
            best = (min if task == "age" else max)(scores, key=lambda c: scores[c])
        else:  # no validation faces: the kernel head where it was fitted, else the MLP
            best = next(c for c in ("svr_rbf", "svc_rbf_c1", "mlp_logage", "mlp") if c in fitted)
        heads[task] = fitted[best]
        record[task] = {
            "chosen": best,
            "val_metric": "mae" if task == "age" else "accuracy",
            "val": {k: round(v, 4) for k, v in scores.items()},
            "n_train": int(len(Xtr)),
        }
    return heads, record


def predict_columns(
    heads: dict[str, Any], names: Sequence[str], X: np.ndarray, labels: Sequence[FaceLabels]
) -> dict[str, Any]:
    """predictions.csv's columns (numeric codes, probabilities over every class, age in years)."""
    from maskprivacy.training.metrics import predictions_table

    probs: dict[str, np.ndarray] = {t: full_proba(heads[t], X, len(n)) for t, n in CLASS_NAMES.items()}
    probs["age"] = np.clip(heads["age"].predict(X), 0.0, None)
    truth = {t: np.array([getattr(lab, t) for lab in labels], dtype=np.int64) for t in TASK_NAMES}
    return predictions_table(list(names), truth, probs)
