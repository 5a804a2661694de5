from PIL import Image

from maskprivacy.cli import main


def test_pipeline_figure(good_faces, tmp_path):
    out = tmp_path / "pipe.png"
    assert main(["figure", "pipeline", str(good_faces[0]), "--out", str(out)]) == 0
    im = Image.open(out)
    assert im.size[0] > 3 * im.size[1]  # four panels side by side


def test_figures_and_inspect_on_made_faces(made_faces, tmp_path, capsys):
    """The same commands with no ../shared, on the faces made from the portrait matplotlib ships."""
    n = len(list(made_faces.iterdir()))
    pipe, dist = tmp_path / "pipe.png", tmp_path / "dist.png"
    assert main(["figure", "pipeline", str(next(made_faces.iterdir())), "--out", str(pipe)]) == 0
    im = Image.open(pipe)
    assert im.size[0] > 3 * im.size[1]  # four panels side by side
    assert main(["figure", "distributions", "--data", str(made_faces), "--out", str(dist)]) == 0
    assert Image.open(dist).size[0] > 500
    assert main(["data", "inspect", "--data", str(made_faces)]) == 0
    out = capsys.readouterr().out
    assert f"labelled: {n}" in out and "problems: 0" in out


def test_distributions_figure(sample_dir, tmp_path):
    out = tmp_path / "dist.png"
    assert main(["figure", "distributions", "--data", str(sample_dir), "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 500


def test_inspect_cli(sample_dir, capsys):
    assert main(["data", "inspect", "--data", str(sample_dir)]) == 0
    out = capsys.readouterr().out
    assert "labelled: 616" in out and "problems: 3" in out


def test_help_of_every_command(capsys):
    import pytest

    for argv in (["--help"], ["mask", "--help"], ["data", "inspect", "--help"], ["figure", "pipeline", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    assert "--style" in capsys.readouterr().out
