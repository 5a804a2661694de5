import io
import tarfile
from pathlib import Path

from maskprivacy.data.manifest import build_manifest, format_counts
from maskprivacy.data.sources import iter_source


def _tar_of(files: list[Path], dst: Path) -> Path:
    with tarfile.open(dst, "w:gz") as tar:
        for p in files:
            tar.add(p, arcname=f"UTKFace/{p.name}")
        info = tarfile.TarInfo("UTKFace/README.txt")
        data = b"hello"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return dst


def test_folder_and_archive_give_same_items(tmp_path, good_faces):
    folder = tmp_path / "f"
    folder.mkdir()
    for p in good_faces:
        (folder / p.name).write_bytes(p.read_bytes())
    archive = _tar_of(good_faces, tmp_path / "UTKFace.tar.gz")
    a = {i.name: i.data for i in iter_source(folder)}
    skipped: list = []
    b = {i.name: i.data for i in iter_source(archive, skipped)}
    assert a == b and len(a) == len(good_faces)
    assert [s.name for s in skipped] == ["UTKFace/README.txt"]


def test_manifest_on_sample_reports_the_three_malformed_names(sample_dir, tmp_path):
    m = build_manifest(sample_dir)
    assert len(m.rows) == 619
    bad = sorted(r["path"] for r in m.problems)
    assert len(bad) == 3 and all(r["status"] == "bad_label" and "missing" in r["reason"] for r in m.problems)
    c = m.counts()
    assert sum(c["sex"].values()) == sum(c["race"].values()) == sum(c["age_bucket"].values()) == 616
    text = format_counts(m)
    assert "61_1_20170109150557335.jpg.chip.jpg" in text and "Indian" in text
    m.write_csv(tmp_path / "manifest.csv")
    lines = (tmp_path / "manifest.csv").read_text().splitlines()
    assert lines[0] == "path,age,sex,race,age_bucket,status,reason" and len(lines) == 620


def test_missing_data_path_is_a_clear_error(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="no such file"):
        list(iter_source(tmp_path / "nope"))
