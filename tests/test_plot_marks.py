"""A plot replaces only a plot normrnn made: every plot carries normrnn's mark, checked first.

A file with the right magic bytes is not enough: a user's PNG, PDF, JPEG
(JFIF), SVG, ... made by another program is kept byte for byte, at start-up
(:mod:`normrnn.cli.outputs`) and again right before the rename
(:func:`normrnn.cli.plot_files.write_figure`).
"""

import hashlib

import pytest
from _cli_run import foreign_image, normrnn_plot

from normrnn.cli.plot_files import is_normrnn_plot, looks_like_plot, write_figure
from normrnn.cli.plotting import plot_formats
from normrnn.files.atomic import ReplaceRefused

MARKED = sorted(set(plot_formats()) - {"raw", "rgba", "pgf"})   # pgf needs a TeX install
FOREIGN = ["png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "gif",
           "webp"]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt", MARKED)
def test_every_plot_normrnn_writes_carries_its_mark(tmp_path, fmt):
    path = normrnn_plot(tmp_path / f"loss.{fmt}")
    assert looks_like_plot(path) and is_normrnn_plot(path)
    before = path.stat().st_ino
    normrnn_plot(path)                                  # its own plot: replaced (renamed over)
    assert is_normrnn_plot(path) and path.stat().st_ino != before
    assert [p.name for p in tmp_path.iterdir()] == [f"loss.{fmt}"]


@pytest.mark.parametrize("fmt", FOREIGN)
def test_another_programs_image_is_not_ours_and_is_kept(tmp_path, fmt):
    path = tmp_path / f"picture.{fmt}"
    path.write_bytes(foreign_image(fmt))
    before = digest(path)
    assert looks_like_plot(path)                        # the right magic bytes ...
    assert not is_normrnn_plot(path)                    # ... but not normrnn's
    with pytest.raises(ReplaceRefused) as info:
        normrnn_plot(path)
    assert info.value.filename == str(path)
    assert digest(path) == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]     # no temporary left


@pytest.mark.parametrize("fmt", ["png", "pdf", "jpg"])
def test_force_replaces_another_programs_image(tmp_path, fmt):
    from matplotlib.figure import Figure
    path = tmp_path / f"picture.{fmt}"
    path.write_bytes(foreign_image(fmt))
    write_figure(Figure(figsize=(1, 1)), path, replace_any=True)
    assert is_normrnn_plot(path)


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n", b"normrnn-plot/1",
                                     b"%PDF-1.4\n/Creator (normrnn-plot/1)"],
                         ids=["empty", "signature-only", "mark-only", "pdf-mark-in-png"])
def test_a_mark_is_looked_for_where_the_format_keeps_it(tmp_path, content):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    assert not is_normrnn_plot(path)


def test_raw_pixels_have_no_mark_and_are_never_replaced(tmp_path):
    path = normrnn_plot(tmp_path / "loss.rgba")
    assert not is_normrnn_plot(path)
    with pytest.raises(ReplaceRefused):
        normrnn_plot(path)


def test_a_file_put_at_the_plot_path_during_the_run_is_kept(tmp_path, monkeypatch):
    """Checked at start-up and again at the write: a photo copied there meanwhile survives."""
    import numpy as np

    from normrnn.cli.plotting import plot_loss_curve
    from normrnn.training.state import History
    path = tmp_path / "loss.png"
    history = History(steps=[1, 2], tokens=[10, 20], bits=[3.0, 2.5], evals=[])
    photo = foreign_image("png")
    real_savefig = __import__("matplotlib.figure").figure.Figure.savefig

    def savefig_then_a_copy_arrives(self, f, **kwargs):
        real_savefig(self, f, **kwargs)
        path.write_bytes(photo)                     # the user's copy lands mid-write
    monkeypatch.setattr("matplotlib.figure.Figure.savefig", savefig_then_a_copy_arrives)
    with pytest.raises(ReplaceRefused):
        plot_loss_curve(history, path, unigram_bits=float(np.log2(20)))
    assert path.read_bytes() == photo
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]
