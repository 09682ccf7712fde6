"""No output path of ``normrnn train``, ``demo`` or ``bench`` destroys a file; one line each.

Every case runs ``python -m normrnn`` in a subprocess, in a folder of its own,
and compares the SHA-256 of every file of that folder before and after: a
refused command changes nothing; a command that runs changes only what it was
asked to write, and only when it replaces a checkpoint by a checkpoint or a
plot by a plot (or ``--force`` was given).  The cases run concurrently.
"""

import os
import stat

import pytest
from _cli_run import (TINY, assert_refused, assert_succeeded, foreign_image, make_checkpoint,
                      normrnn_plot, png_bytes, run_all, write_jsonl)
from _toy import toy_corpus, write_folder

LONG = "n" * 251 + ".npz"                       # 255 bytes: the longest legal name


def data(folder):
    return write_jsonl(folder / "data.jsonl")


def texts(folder):
    return write_folder(folder / "texts", toy_corpus(n=8))


def train(folder, *extra, data_path=None):
    return ["train", str(data_path or data(folder)), *TINY, *extra]


def symlink_to_data(f):
    os.symlink("data.jsonl", f / "link.npz")
    return train(f, "--out", "link.npz")


def hard_link_to_data(f):
    os.link(data(f), f / "hard.npz")
    return train(f, "--out", "hard.npz")


def fifo_out(f):
    os.mkfifo(f / "pipe.npz")
    return train(f, "--out", "pipe.npz")


def existing(name, content):
    def make(f):
        (f / name).write_bytes(content)
    return make


def with_files(*makers):
    """Run ``makers`` on the folder, then build argv from the last element."""
    *setups, argv = makers

    def setup(f):
        for make in setups:
            make(f)
        return argv(f)
    return setup


def image_at(name, fmt=None):
    """Another program's real image at ``name``, of ``name``'s format (or ``fmt``)."""
    def make(f):
        (f / name).write_bytes(foreign_image(fmt or name.rsplit(".", 1)[1].lower()))
    return make


def plot_at(name):
    def make(f):
        normrnn_plot(f / name)
    return make


def png_mentioning_normrnn(f):
    """A user's PNG whose comment chunk quotes normrnn's mark: not where normrnn puts it."""
    import io

    from PIL import Image, PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "normrnn-plot/0.1 matplotlib/3 (quoted in my notes)")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG", pnginfo=info)
    (f / "m.png").write_bytes(buffer.getvalue())


NOT_OURS = "not a plot normrnn made"


def checkpoint_at(name):
    def make(f):
        make_checkpoint(f / name)
    return make


# id: (setup(folder) -> argv, fragments of the one-line message)
REFUSED = {
    # --- an output that is an input ------------------------------------------------------
    "out-is-data": (lambda f: train(f, "--out", "data.jsonl"), "same file as DATA"),
    "out-is-data-relative-vs-absolute": (
        lambda f: ["train", str(data(f).resolve()), *TINY, "--out", "./data.jsonl"],
        "same file as DATA"),
    "out-is-data-through-dotdot": (
        lambda f: (f / "sub").mkdir() or train(f, "--out", "sub/../data.jsonl"),
        "same file as DATA"),
    "out-is-symlink-to-data": (symlink_to_data, "same file as DATA"),
    "out-is-hard-link-to-data": (hard_link_to_data, "same file as DATA"),
    "out-is-a-file-of-the-data-folder": (
        lambda f: train(f, "--out", "texts/doc1.txt", data_path=texts(f)), "DATA's file"),
    "plot-is-a-file-of-the-data-folder": (
        lambda f: train(f, "--out", "m.npz", "--plot", "texts/doc2.txt", data_path=texts(f)),
        "DATA's file"),
    "out-is-the-data-folder": (
        lambda f: train(f, "--out", "texts", data_path=texts(f)), "is a folder"),
    "plot-is-data": (lambda f: train(f, "--out", "m.npz", "--plot", "data.jsonl"),
                     "same file as DATA"),
    "plot-is-the-resumed-checkpoint": (
        with_files(checkpoint_at("ck.npz"),
                   lambda f: train(f, "--resume", "ck.npz", "--out", "new.npz",
                                   "--plot", "ck.npz")), "same file as --resume"),
    "default-plot-is-the-resumed-checkpoint": (
        with_files(checkpoint_at("ck.png"),
                   lambda f: train(f, "--resume", "ck.png", "--out", "ck.npz")),
        "same file as --resume"),
    # --- two outputs that are one file -----------------------------------------------------
    "out-is-plot": (lambda f: train(f, "--out", "m.npz", "--plot", "m.npz"), "same file"),
    "out-is-plot-through-symlink": (
        lambda f: os.symlink("m.npz", f / "alias.png") or train(f, "--out", "m.npz",
                                                                 "--plot", "alias.png"),
        "same file"),
    "default-plot-is-out": (lambda f: train(f, "--out", "ck.png"), "the loss plot"),
    "default-plot-is-out-and-resumed": (
        with_files(checkpoint_at("ck.png"),
                   lambda f: train(f, "--resume", "ck.png", "--out", "ck.png")), "same file"),
    "demo-checkpoint-is-out": (lambda f: ["demo", "--out", "x.png", "--checkpoint", "x.png"],
                               "same file"),
    # --- outputs that are not regular files --------------------------------------------------
    "out-dev-null": (lambda f: train(f, "--out", "/dev/null"), "character device"),
    "out-dev-full": (lambda f: train(f, "--out", "/dev/full"), "character device"),
    "plot-dev-null": (lambda f: train(f, "--out", "m.npz", "--plot", "/dev/null"),
                      "character device"),
    "out-folder": (lambda f: (f / "runs").mkdir() or train(f, "--out", "runs"), "is a folder"),
    "plot-folder": (lambda f: (f / "p.png").mkdir() or train(f, "--out", "m.npz",
                                                             "--plot", "p.png"), "is a folder"),
    "out-fifo": (fifo_out, "named pipe"),
    "demo-out-dev-null": (lambda f: ["demo", "--out", "/dev/null"], "character device"),
    "demo-checkpoint-dev-full": (lambda f: ["demo", "--out", "d.png", "--checkpoint",
                                            "/dev/full"], "character device"),
    # --- existing files of another kind --------------------------------------------------------
    "out-is-a-text-file": (with_files(existing("notes.npz", b"my notes\n"),
                                      lambda f: train(f, "--out", "notes.npz")),
                           "not a normrnn checkpoint", "--force"),
    "out-is-a-numpy-archive-but-not-a-checkpoint": (
        with_files(lambda f: __import__("numpy").savez(f / "arrays.npz", x=[1, 2]),
                   lambda f: train(f, "--out", "arrays.npz")), "not a normrnn checkpoint"),
    "plot-is-a-text-file": (with_files(existing("loss.png", b"not an image"),
                                       lambda f: train(f, "--out", "m.npz", "--plot",
                                                       "loss.png")), NOT_OURS),
    "plot-is-a-png-named-pdf": (with_files(existing("loss.pdf", png_bytes()),
                                           lambda f: train(f, "--out", "m.npz", "--plot",
                                                           "loss.pdf")), NOT_OURS),
    "default-plot-is-a-text-file": (with_files(existing("m.png", b"text"),
                                               lambda f: train(f, "--out", "m.npz")),
                                    NOT_OURS, "give --plot another file name"),
    "demo-out-is-a-text-file": (with_files(existing("d.png", b"text"),
                                           lambda f: ["demo", "--out", "d.png"]),
                                NOT_OURS),
    # --- another program's real image, with the right magic bytes: never replaced ---------
    "default-plot-is-a-hand-made-png": (with_files(image_at("m.png"),
                                                   lambda f: train(f, "--out", "m.npz")),
                                        NOT_OURS, "--force"),
    "default-plot-is-a-signature-only-png": (with_files(existing("m.png", png_bytes()),
                                                        lambda f: train(f, "--out", "m.npz")),
                                             NOT_OURS),
    "default-plot-is-a-png-quoting-the-mark": (
        with_files(png_mentioning_normrnn, lambda f: train(f, "--out", "m.npz")), NOT_OURS),
    "plot-is-a-real-pdf": (with_files(image_at("report.pdf"),
                                      lambda f: train(f, "--out", "m.npz", "--plot",
                                                      "report.pdf")), NOT_OURS),
    "plot-is-a-jfif-photo": (with_files(image_at("photo.jpg"),
                                        lambda f: train(f, "--out", "m.npz", "--plot",
                                                        "photo.jpg")), NOT_OURS),
    "plot-is-a-real-svg": (with_files(image_at("figure.svg"),
                                      lambda f: train(f, "--out", "m.npz", "--plot",
                                                      "figure.svg")), NOT_OURS),
    "plot-is-a-real-eps": (with_files(image_at("figure.eps"),
                                      lambda f: train(f, "--out", "m.npz", "--plot",
                                                      "figure.eps")), NOT_OURS),
    "plot-is-a-real-tiff": (with_files(image_at("scan.tif"),
                                       lambda f: train(f, "--out", "m.npz", "--plot",
                                                       "scan.tif")), NOT_OURS),
    "plot-is-a-real-gif": (with_files(image_at("anim.gif"),
                                      lambda f: train(f, "--out", "m.npz", "--plot",
                                                      "anim.gif")), NOT_OURS),
    "plot-is-a-real-webp": (with_files(image_at("pic.webp"),
                                       lambda f: train(f, "--out", "m.npz", "--plot",
                                                       "pic.webp")), NOT_OURS),
    "demo-out-is-a-hand-made-png": (with_files(image_at("d.png"),
                                               lambda f: ["demo", "--out", "d.png"]), NOT_OURS),
    "bench-plot-is-a-hand-made-png": (with_files(image_at("b.png"),
                                                 lambda f: ["bench", "--plot", "b.png"]),
                                      NOT_OURS),
    "demo-checkpoint-is-a-text-file": (
        with_files(existing("model.npz", b"text"),
                   lambda f: ["demo", "--out", "d.png", "--checkpoint", "model.npz"]),
        "not a normrnn checkpoint"),
    # --- outputs that cannot be written ----------------------------------------------------------
    "out-under-a-regular-file": (with_files(existing("file", b"x"),
                                            lambda f: train(f, "--out", "file/m.npz")),
                                 "not a folder"),
    "plot-under-a-regular-file": (with_files(existing("file", b"x"),
                                             lambda f: train(f, "--out", "m.npz", "--plot",
                                                             "file/p.png")), "not a folder"),
    "out-name-of-256-bytes": (lambda f: train(f, "--out", "n" * 252 + ".npz"),
                              "longer than"),
    # --- plot formats -----------------------------------------------------------------------------
    "plot-suffix-txt": (lambda f: train(f, "--out", "m.npz", "--plot", "loss.txt"),
                        "matplotlib cannot write '.txt'", ".png"),
    "plot-without-suffix": (lambda f: train(f, "--out", "m.npz", "--plot", "loss"),
                            "without a suffix"),
    "demo-plot-suffix": (lambda f: ["demo", "--out", "demo.npz"], "matplotlib cannot write"),
    # --- bench writes too: refused before it measures anything ----------------------------------
    "bench-json-is-a-text-file": (with_files(existing("notes.txt", b"my notes"),
                                             lambda f: ["bench", "--json", "notes.txt"]),
                                  "not a normrnn bench report"),
    "bench-json-is-the-json-lines-data": (
        lambda f: data(f) and ["bench", "--json", "data.jsonl"], "not a normrnn bench report"),
    "bench-json-is-other-json": (with_files(existing("cfg.json", b'{"a": 1}'),
                                            lambda f: ["bench", "--json", "cfg.json"]),
                                 "not a normrnn bench report"),
    "bench-plot-dev-null": (lambda f: ["bench", "--plot", "/dev/null"], "character device"),
    "bench-plot-suffix": (lambda f: ["bench", "--plot", "bench.json"], "matplotlib cannot"),
    "bench-json-is-plot": (lambda f: ["bench", "--json", "b.png", "--plot", "b.png"],
                           "same file"),
}

# id: (setup(folder) -> argv, the files that may change)
ACCEPTED = {
    "resume-in-place": (with_files(checkpoint_at("ck.npz"),
                                   lambda f: train(f, "--resume", "ck.npz", "--out", "ck.npz",
                                                   "--max-steps", "2")),
                        {"ck.npz"}),
    "existing-checkpoint-replaced": (with_files(checkpoint_at("ck.npz"),
                                                lambda f: train(f, "--out", "ck.npz")),
                                     {"ck.npz"}),
    "existing-plot-replaced": (with_files(plot_at("m.png"),
                                          lambda f: train(f, "--out", "m.npz")), {"m.png"}),
    "existing-pdf-plot-replaced": (with_files(plot_at("loss.pdf"),
                                              lambda f: train(f, "--out", "m.npz", "--plot",
                                                              "loss.pdf")), {"loss.pdf"}),
    "existing-svg-plot-replaced": (with_files(plot_at("loss.svg"),
                                              lambda f: train(f, "--out", "m.npz", "--plot",
                                                              "loss.svg")), {"loss.svg"}),
    "real-jpg-replaced-with-force": (with_files(image_at("photo.jpg"),
                                                lambda f: train(f, "--out", "m.npz", "--plot",
                                                                "photo.jpg", "--force")),
                                     {"photo.jpg"}),
    "text-file-replaced-with-force": (with_files(existing("notes.npz", b"my notes\n"),
                                                 lambda f: train(f, "--out", "notes.npz",
                                                                 "--force")),
                                      {"notes.npz"}),
    "text-plot-replaced-with-force": (with_files(existing("m.png", b"text"),
                                                 lambda f: train(f, "--out", "m.npz",
                                                                 "--force")),
                                      {"m.png"}),
    "out-in-a-folder-still-to-create": (lambda f: train(f, "--out", "new/runs/m.npz"), set()),
    "out-name-of-255-bytes": (lambda f: train(f, "--out", LONG), set()),
    "out-name-of-255-bytes-resumed": (
        with_files(checkpoint_at(LONG), lambda f: train(f, "--out", LONG, "--resume", LONG,
                                                        "--max-steps", "2")),
        {LONG}),
    "plot-pdf": (lambda f: train(f, "--out", "m.npz", "--plot", "loss.PDF"), set()),
    "out-without-suffix": (lambda f: train(f, "--out", "model"), set()),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    jobs = {}
    for key, (setup, *_) in {**REFUSED, **ACCEPTED}.items():
        folder = tmp_path_factory.mktemp(key[:40])
        jobs[key] = (folder, setup(folder))
    results = run_all(jobs)
    return {key: (jobs[key][0], outcome) for key, outcome in results.items()}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_in_one_line_and_nothing_changes(outcomes, case):
    folder, outcome = outcomes[case]
    assert_refused(outcome, *REFUSED[case][1:])
    assert "Traceback" not in outcome.stderr
    assert not any(p.name.endswith(".tmp") for p in folder.rglob("*")), "temporary left"


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_changes_only_what_it_was_asked_to(outcomes, case):
    folder, outcome = outcomes[case]
    assert_succeeded(outcome, may_change=ACCEPTED[case][1])
    assert not any(p.name.endswith(".tmp") for p in folder.rglob("*")), "temporary left"


def test_devices_are_still_devices():
    for device in ("/dev/null", "/dev/full"):
        assert stat.S_ISCHR(os.stat(device).st_mode)


def test_replaced_files_hold_what_was_asked(outcomes):
    from normrnn.training import load_checkpoint
    from normrnn.training.checkpoint import is_checkpoint
    folder, _ = outcomes["resume-in-place"]
    assert load_checkpoint(folder / "ck.npz").state.step == 2
    folder, _ = outcomes["text-file-replaced-with-force"]
    assert is_checkpoint(folder / "notes.npz")
    from normrnn.cli.plot_files import is_normrnn_plot
    for case, name in [("existing-plot-replaced", "m.png"),
                       ("text-plot-replaced-with-force", "m.png"),
                       ("existing-pdf-plot-replaced", "loss.pdf"),
                       ("existing-svg-plot-replaced", "loss.svg"),
                       ("real-jpg-replaced-with-force", "photo.jpg")]:
        folder, outcome = outcomes[case]
        assert is_normrnn_plot(folder / name)
        assert outcome.after[name] != outcome.before[name]
    folder, _ = outcomes["plot-pdf"]
    assert (folder / "loss.PDF").read_bytes()[:4] == b"%PDF"
    folder, _ = outcomes["out-name-of-255-bytes-resumed"]
    assert load_checkpoint(folder / LONG).state.step == 2
    folder, _ = outcomes["out-without-suffix"]
    assert is_checkpoint(folder / "model") and (folder / "model.png").exists()
