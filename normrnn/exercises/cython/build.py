"""Compile a learner's ``.pyx`` with the package's directives, cached by content.

Cython turns the file into C (with its ``cython -a`` annotation, for the
purity grade) and the C compiler that installing normrnn needs turns the C
into an extension module.  Both run in a build folder of their own, outside
the package and outside the learner's folder: ``$NORMRNN_CYTHON_CACHE``, else
``~/.cache/normrnn/cython-track``.  The folder of one build is named by a hash
of everything that decides its result (the source, the directives, the flags,
the Cython, Python and NumPy versions, and the package's ``.pxd`` files a
learner may ``cimport``), so an unchanged file is never rebuilt and a changed
one never reuses a stale module.

A compile error is a result, never a traceback: :class:`CompileFailed` holds
``file:line`` and Cython's (or the C compiler's) message.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..._kernels import build_config
from .source import KERNELS

__all__ = ["Built", "CompileFailed", "build", "cache_folder", "directives", "compile_args",
           "openmp_args"]

#: Seconds Cython, then the C compiler, may take on one file.
SECONDS = 300

_ROOT = KERNELS.parent.parent             # holds normrnn/: a learner may cimport its kernels


class CompileFailed(Exception):
    """The learner's file did not compile.

    Attributes
    ----------
    path : str
        The learner's file.
    line : int or None
        The first line an error names.
    message : str
        The compiler's message for that line (the others follow it).
    """

    def __init__(self, path, line, message):
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path, self.line, self.message = str(path), line, message


@dataclass
class Built:
    """One compiled module.

    Attributes
    ----------
    module : Path
        The extension module (``.so``).
    name : str
        Its import name (unique per content).
    c_file, annotation : Path
        The generated C and the ``cython -a`` HTML.
    rebuilt : bool
        False when the cache held it.
    """

    module: Path
    name: str
    c_file: Path
    annotation: Path
    rebuilt: bool


def directives():
    """The release build's Cython directives (``build_config.directives``)."""
    return build_config.directives(debug=False)


def compile_args():
    """The release build's C flags (``build_config.compile_args``)."""
    return build_config.compile_args(debug=False)


def openmp_args():
    """The C flags that turn OpenMP on (``build_config.openmp_args``), for ``prange``."""
    return build_config.openmp_args()


def cache_folder():
    """``$NORMRNN_CYTHON_CACHE``, else ``~/.cache/normrnn/cython-track``."""
    chosen = os.environ.get("NORMRNN_CYTHON_CACHE")
    return Path(chosen) if chosen else Path.home() / ".cache" / "normrnn" / "cython-track"


def _compiler():
    """The C compiler command of this Python (the one ``pip install`` used)."""
    return (sysconfig.get_config_var("CC") or "cc").split()


def _key(source, stem, flags):
    import Cython
    digest = hashlib.sha256()
    for part in (source, stem, repr(sorted(directives().items())), repr(flags),
                 Cython.__version__, sys.version, np.__version__, " ".join(_compiler())):
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    for pxd in sorted(KERNELS.glob("*.pxd")):
        digest.update(pxd.read_bytes())
    return digest.hexdigest()[:20]


def build(path, *, cache=None, openmp=False):
    """Compile the learner's ``path`` (a ``.pyx``), or find it compiled in the cache.

    Parameters
    ----------
    path : str or Path
    cache : str or Path, optional
        The build folder (default :func:`cache_folder`).
    openmp : bool, optional
        Compile and link with OpenMP (for ``prange``).

    Returns
    -------
    Built

    Raises
    ------
    CompileFailed
        Cython or the C compiler refused the file.
    """
    path = Path(path)
    source = path.read_bytes()
    flags = [*compile_args(), *(openmp_args() if openmp else [])]
    key = _key(source, path.stem, flags)
    name = f"{path.stem}_{key}"
    folder = Path(cache if cache is not None else cache_folder()) / name
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    built = Built(folder / f"{name}{suffix}", name, folder / f"{name}.c",
                  folder / f"{name}.html", False)
    if built.module.is_file():
        return built
    failed = folder.with_suffix(".failed")
    if failed.is_file():
        line, message = failed.read_text().split("\n", 1)
        raise CompileFailed(path, int(line) or None, message)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=folder.parent))
    try:
        try:
            _compile(path, source, work, name, suffix, flags)
        except CompileFailed as error:
            failed.write_text(f"{error.line or 0}\n{error.message}")
            raise
        try:
            os.replace(work, folder)
        except OSError:                   # built meanwhile by another process: theirs is the same
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    built.rebuilt = True
    return built


def _compile(path, source, work, name, suffix, flags):
    pyx = work / f"{name}.pyx"
    pyx.write_bytes(source)
    options = ",".join(f"{k}={v}" for k, v in directives().items())
    cython = subprocess.run(
        [sys.executable, "-m", "cython", "-3", "--annotate", "-X", options, "-I", str(_ROOT),
         "-o", str(work / f"{name}.c"), str(pyx)],
        capture_output=True, text=True, timeout=SECONDS, cwd=work)
    if cython.returncode != 0:
        raise _cython_error(path, pyx, cython.stderr + cython.stdout)
    include = [f"-I{sysconfig.get_paths()['include']}", f"-I{np.get_include()}", f"-I{KERNELS}"]
    cc = subprocess.run(
        [*_compiler(), "-shared", "-fPIC", *flags, *include,
         "-DNPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION", str(work / f"{name}.c"),
         "-o", str(work / f"{name}{suffix}")],
        capture_output=True, text=True, timeout=SECONDS, cwd=work)
    if cc.returncode != 0:
        errors = [line for line in cc.stderr.splitlines() if "error" in line]
        raise CompileFailed(path, None, "the C compiler failed: "
                            + (errors[0] if errors else cc.stderr.strip()[-400:]))


def _cython_error(path, pyx, output):
    """CompileFailed at the first ``file:line:col: message`` Cython printed, in ``path``'s name."""
    found = re.findall(rf"^(?:.*[/\\])?{re.escape(pyx.name)}:(\d+):(\d+): (.*)$", output,
                       flags=re.M)
    if not found:
        last = [line for line in output.strip().splitlines() if line.strip()]
        return CompileFailed(path, None, "Cython failed: " + (last[-1] if last else "no message"))
    line, column, message = found[0]
    more = len(found) - 1
    return CompileFailed(path, int(line), f"{message} (column {column})"
                         + (f"; and {more} more error{'s' * (more > 1)}" if more else ""))
