"""Which faces each stage may use: pretraining and the shared model never touch a test face."""

from __future__ import annotations

import numpy as np

from maskprivacy.training.pipeline import pretrain_rows, shared_rows, split_rows
from maskprivacy.training.splits import write_split


def test_rows_keep_test_faces_out(tmp_path):
    names = [f"{i}_0_0_2017.jpg" for i in range(8)]
    uni = dict(zip(names, ["train", "train", "train", "val", "test", "train", "val", "train"]))
    rnd = dict(zip(names, ["train", "test", "val", "train", "train", "train", "val", "train"]))
    write_split(tmp_path / "uniform.csv", uni)
    write_split(tmp_path / "random.csv", rnd)
    paths = {"uniform": tmp_path / "uniform.csv", "random": tmp_path / "random.csv"}
    assert split_rows(names, paths["uniform"])["test"].tolist() == [4]
    assert pretrain_rows(names, paths).tolist() == [0, 5, 7]
    s = shared_rows(names, paths)
    assert s["train"].tolist() == [0, 5, 7]
    assert s["val"].tolist() == [2, 3, 6]  # val somewhere, test nowhere, not already train
    assert len(s["test"]) == 0
    tests = {i for p in paths.values() for i in split_rows(names, p)["test"]}
    assert not tests & set(np.concatenate([s["train"], s["val"]]).tolist())
