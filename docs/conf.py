"""Sphinx configuration of the normrnn documentation.

Build (from the repository root, with normrnn installed: ``pip install ".[docs]"``
or ``pip install -e ".[docs]"``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The pages document whichever normrnn Python imports: this file does not put
the source tree on ``sys.path``, so a plain (non-editable) install builds the
docs as well as an editable one.

Everything a reader sees that is a number or a picture is computed during the
build: the gradient checks on the section pages (``docs/_ext/normrnn_docs.py``),
the tutorials (sphinx-gallery runs ``tutorials/plot_*.py``), the unrolled
graph (``docs/pyplots``) and the Cython annotation.  Maths is rendered by a
copy of MathJax shipped with the site (``sphinx-mathjax-offline``), so the
pages work without a network.
"""

import importlib.util
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# `python -m sphinx` run from the repository root puts the root first on
# sys.path, where the unbuilt source tree would shadow the installed package:
# take it off, so the build always documents the normrnn that is installed.
_PATH = list(sys.path)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != ROOT]
try:
    import normrnn  # noqa: E402  (the installed package, editable or not)
except ModuleNotFoundError:     # an editable install that works by putting the root on sys.path
    sys.path[:] = _PATH
    import normrnn  # noqa: E402
from normrnn import section_registry  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "_ext"))   # the docs' own extension only

# -- project ------------------------------------------------------------------
project = "normrnn"
author = "the normrnn authors"
copyright = "the normrnn authors"
version = release = normrnn.__version__

# -- extensions -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",          # MathJax 3 served from _static/, no CDN
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "normrnn_docs",                    # docs/_ext: executed checks, Cython annotation
]

root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_tutorials/*.ipynb",
                    "auto_tutorials/*.py", "auto_tutorials/*.zip",
                    "auto_tutorials/*.codeobj.json"]
pygments_style = "sphinx"

# -- maths ----------------------------------------------------------------------
# sphinx-mathjax-offline sets mathjax_path to its bundled copy.  The macros
# below are the notation of every page.
mathjax3_config = {
    "tex": {
        "macros": {
            "R": r"\mathbb{R}",
            "T": r"\top",
            "Wih": r"W_{\mathrm{ih}}",
            "Whh": r"W_{\mathrm{hh}}",
            "onehot": r"\operatorname{onehot}",
            "softmax": r"\operatorname{softmax}",
            "diag": r"\operatorname{diag}",
            "pd": [r"\frac{\partial #1}{\partial #2}", 2],
        },
    },
}

# -- autodoc and numpydoc -----------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

# -- sphinx-gallery -------------------------------------------------------------
# The comparison with autograd needs PyTorch or JAX; the docs extra installs
# JAX, so the README's command always builds it.  With neither (a bare sphinx
# install) that one tutorial is left out of the gallery, and the build says so.
_HAVE_AUTOGRAD = any(importlib.util.find_spec(name) is not None for name in ("torch", "jax"))
if not _HAVE_AUTOGRAD:
    print("normrnn docs: neither PyTorch nor JAX is installed, so the tutorial 'Check it "
          "against autograd' is left out (pip install jax to build it)")

sphinx_gallery_conf = {
    "examples_dirs": "../tutorials",
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py" + ("" if _HAVE_AUTOGRAD else r"|plot_8_autograd\.py"),
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("normrnn",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"normrnn": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "min_reported_time": 1,
    # its timing pages load jQuery and DataTables from CDNs: the site must
    # work offline, so they are not written (the build log reports times)
    "write_computation_times": False,
}

# The exercise notebooks are made from the exercises' skeletons at every build
# (docs/_ext/normrnn_docs.py), into the gallery's exercises folder.
normrnn_exercise_notebooks = os.path.join(ROOT, "tutorials", "exercises")

# -- matplotlib plot directive (the BPTT picture) -------------------------------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 130)]
plot_rcparams = {"savefig.bbox": "tight"}
plot_working_directory = os.path.dirname(HERE)   # paths as typed in a clone's root

# Matplotlib must not try a display; the tutorials draw into files.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg",
                        category=UserWarning)

# -- HTML -------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "normrnn"
html_static_path = ["_static"]
html_css_files = ["normrnn.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    # the top bar shows the pages a learner goes to (installation, model, BPTT,
    # sections, errata, exercises, tutorials); the reference pages under "More"
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": {
        "sections/*": [],          # the side-by-side code wants the width
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
# Pages without sub-pages: no left sidebar (it would hold only an empty
# "Section Navigation" heading).
html_sidebars = {page: [] for page in ("index", "installation", "model", "bptt", "errata",
                                       "exercises", "classroom", "performance", "guarantees",
                                       "cython")}
# The section pages show NumPy and Cython side by side: they get the whole
# width (the sections' index, previous/next and the top bar still lead
# from one to the next).
html_sidebars.update({f"sections/{name}": [] for name in section_registry.NAMES})
