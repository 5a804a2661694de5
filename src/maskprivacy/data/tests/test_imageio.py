import pytest

from maskprivacy.data.imageio import ImageError, decode_image, read_image_in


def test_hostile_files_decode_or_give_reasons(tmp_path, good_faces, sample_dir, build_hostile_corpus):
    expected = build_hostile_corpus(tmp_path, good_faces, sample_dir)
    for name, status in expected.items():
        data = (tmp_path / name).read_bytes()
        if status in ("unreadable", "too_large"):
            with pytest.raises(ImageError) as e:
                decode_image(data)
            assert e.value.kind == status and e.value.reason
        elif status != "skipped":
            rgb = decode_image(data)
            assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype.name == "uint8"
            assert rgb.mean() > 20  # not black: alpha composited, 16-bit scaled, CMYK converted


def test_bomb_refused_from_header_without_decoding(tmp_path, good_faces, sample_dir, build_hostile_corpus):
    import tracemalloc

    build_hostile_corpus(tmp_path, good_faces, sample_dir)
    data = (tmp_path / "30_0_0_20170101000000004.png").read_bytes()
    tracemalloc.start()
    with pytest.raises(ImageError, match="400,000,000 pixels.*refused without decoding"):
        decode_image(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50_000_000  # 20000x20000 would need 400 MB even in grayscale


def test_read_image_in_stays_inside_its_folder(tmp_path, face_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "face.jpg").write_bytes(face_path.read_bytes())
    (tmp_path / "outside.jpg").write_bytes(face_path.read_bytes())
    assert read_image_in(tmp_path / "in", "face.jpg").shape[2] == 3
    for rel in ("../outside.jpg", str(tmp_path / "outside.jpg")):  # relative or absolute, out is out
        with pytest.raises(ImageError, match="leaves the images folder"):
            read_image_in(tmp_path / "in", rel)
    with pytest.raises(ImageError, match="no such file"):
        read_image_in(tmp_path / "in", "gone.jpg")
