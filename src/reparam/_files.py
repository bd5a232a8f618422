"""Arrays from files and back, for the ``reparam solve`` command.

Reads ``.npy``, ``.npz`` (one array, arrays named after the argument, or a scipy sparse matrix
saved by ``scipy.sparse.save_npz``), Matrix Market ``.mtx`` / ``.mtx.gz`` and numeric text
(``.csv``, ``.txt``: delimiter and a header line detected). Writes ``.npy``, ``.csv`` and
``.txt`` through a temporary file in the destination folder and a rename, so that a reader
never sees half a file and an interrupted write leaves the old file in place.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

READ_SUFFIXES = (".npy", ".npz", ".mtx", ".mtx.gz", ".csv", ".txt")
WRITE_SUFFIXES = (".npy", ".csv", ".txt")
_TEXT_DELIMITERS = (",", ";", "\t")


class FileError(ValueError):
    """A file that cannot be read or written; the message names the file and the fault."""


def suffix(path: str | os.PathLike) -> str:
    """The format suffix of ``path``, lower case (``.mtx.gz`` counts as one)."""
    name = Path(path).name.lower()
    return ".mtx.gz" if name.endswith(".mtx.gz") else Path(name).suffix


def read_matrix(path: str | os.PathLike, name: str):
    """Read the array called ``name`` (``"A"`` or ``"b"``) from ``path``.

    Returns a NumPy array, or a scipy sparse CSR array for sparse ``.npz`` and ``.mtx`` files.
    Raises :class:`FileError` naming the file when it is missing, of an unknown type, or does
    not hold real numbers.
    """
    path = Path(path)
    kind = suffix(path)
    if kind not in READ_SUFFIXES:
        raise FileError(f"{path}: unknown file type {kind or '(no suffix)'!r}; expected one of "
                        f"{', '.join(READ_SUFFIXES)}")
    if not path.exists():
        raise FileError(f"{path}: no such file")
    if path.is_dir():
        raise FileError(f"{path}: is a folder, not a file")
    readers: dict[str, Callable] = {".npy": _read_npy, ".npz": _read_npz, ".mtx": _read_mtx,
                                    ".mtx.gz": _read_mtx, ".csv": _read_text, ".txt": _read_text}
    try:
        value = readers[kind](path, name)
    except FileError:
        raise
    except OSError as exc:
        raise FileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    dtype = value.dtype
    if dtype.kind not in "biuf":
        raise FileError(f"{path}: {name} has dtype {dtype}; expected real numbers")
    return value


def _read_npy(path: Path, name: str) -> np.ndarray:
    _check_magic(path, b"\x93NUMPY", "a .npy file (numpy.save)")
    try:
        value = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as exc:  # object arrays, a truncated or a foreign file
        raise FileError(f"{path}: not a numeric .npy file (NumPy says: {exc})") from None
    return value


def _check_magic(path: Path, magic: bytes, what: str) -> None:
    with open(path, "rb") as f:
        if f.read(len(magic)) != magic:
            raise FileError(f"{path}: not {what}: it does not start like one (numeric "
                            "text belongs in .csv or .txt)")


def _read_npz(path: Path, name: str):
    _check_magic(path, b"PK", "an .npz archive (numpy.savez or scipy.sparse.save_npz)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise FileError(f"{path}: not a valid .npz file (NumPy says: {exc})") from None
    with archive:
        keys = list(archive.files)
        if {"format", "shape", "data"} <= set(keys):  # written by scipy.sparse.save_npz
            try:
                return sp.csr_array(sp.load_npz(path))
            except (ValueError, KeyError) as exc:
                raise FileError(f"{path}: not a valid scipy sparse .npz file: {exc}") from None
        names = [name] if name == "A" else [name, name.upper()]
        if len(keys) == 1:
            key = keys[0]
        elif any(n in keys for n in names):
            key = next(n for n in names if n in keys)
        else:
            raise FileError(f"{path}: holds the arrays {', '.join(keys) or '(none)'}; expected "
                            f"one array, or one named {name!r}")
        try:
            return archive[key]
        except ValueError as exc:
            raise FileError(f"{path}: array {key!r} is not numeric (NumPy says: {exc})") from None


def _read_mtx(path: Path, name: str):
    import scipy.io  # here, not at import: 0.08 s that only Matrix Market files need

    try:
        value = scipy.io.mmread(path)
    except (ValueError, IndexError, TypeError) as exc:
        raise FileError(f"{path}: not a valid Matrix Market file: {exc}") from None
    return sp.csr_array(value) if sp.issparse(value) else np.asarray(value)


def _read_text(path: Path, name: str) -> np.ndarray:
    """Numeric text: one row per line; ``,``, ``;``, tab or blanks between values.

    Blank lines and lines starting with ``#`` are skipped; a first line that is not all
    numbers is a header and skipped too. Always 2-D (rows, columns).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise FileError(f"{path}: not a text file (not UTF-8); numeric text expected") from None
    lines = [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise FileError(f"{path}: holds no numbers")
    sample = [line for _, line in lines[:10]]
    delimiter = next((d for d in _TEXT_DELIMITERS if all(d in line for line in sample)), None)
    if _is_header(lines[0][1], delimiter):
        lines = lines[1:]
        if not lines:
            raise FileError(f"{path}: holds a header line and no numbers")
    try:
        value = np.loadtxt(io.StringIO("\n".join(line for _, line in lines)),
                           delimiter=delimiter, ndmin=2, dtype=np.float64, quotechar='"')
    except ValueError:
        raise FileError(f"{path}: {_first_bad_line(lines, delimiter)}") from None
    return value


def _split(line: str, delimiter: str | None) -> list[str]:
    return [f.strip().strip('"').strip() for f in line.split(delimiter)]


def _is_header(line: str, delimiter: str | None) -> bool:
    """A line of names: no field is a number (empty fields allowed, as above an index)."""
    fields = [f for f in _split(line, delimiter) if f]
    return bool(fields) and not any(_is_number(f) for f in fields)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _first_bad_line(lines: list[tuple[int, str]], delimiter: str | None) -> str:
    """Say which line of a text file is not a row of numbers like the first one."""
    sep = {None: "blanks", "\t": "tabs"}.get(delimiter, repr(delimiter))
    width = len(_split(lines[0][1], delimiter))
    for lineno, line in lines:
        fields = _split(line, delimiter)
        for field in fields:
            if not _is_number(field):
                what = "an empty value" if not field else f"{field!r}, not a number"
                return f"line {lineno} has {what} (values separated by {sep})"
        if len(fields) != width:
            return (f"line {lineno} has {len(fields)} values, but line {lines[0][0]} has "
                    f"{width} (values separated by {sep})")
    return f"cannot be read as rows of numbers separated by {sep}"


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------
def check_writable(path: str | os.PathLike, what: str, suffixes: tuple[str, ...]) -> Path:
    """Fail early (before any work) when ``path`` cannot be written as ``what``."""
    path = Path(path)
    if path.is_dir():
        raise FileError(f"{what} {path}: is a folder; give a file name")
    kind = suffix(path)
    if kind not in suffixes:
        raise FileError(f"{what} {path}: unknown output type {kind or '(no suffix)'!r}; use "
                        f"{', '.join(suffixes)}")
    folder = path.parent
    if not folder.is_dir():
        raise FileError(f"{what} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileError(f"{what} {path}: the folder {folder} is not writable")
    return path


def write_array(path: str | os.PathLike, x: np.ndarray) -> None:
    """Write ``x`` to exactly ``path``, in the format its suffix names (.npy, .csv, .txt)."""
    kind = suffix(path)
    if kind == ".npy":
        _atomic(path, lambda f: np.save(f, x, allow_pickle=False))
    elif kind in (".csv", ".txt"):
        delimiter = "," if kind == ".csv" else " "
        # %.17g keeps every float64 bit: reading the file back gives the same x.
        _atomic(path, lambda f: np.savetxt(f, x, fmt="%.17g", delimiter=delimiter))
    else:
        raise FileError(f"{path}: unknown output type {kind!r}; use {', '.join(WRITE_SUFFIXES)}")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to exactly ``path`` through a temporary file and a rename."""
    _atomic(path, lambda f: f.write(text.encode("utf-8")))


def _atomic(path: str | os.PathLike, write: Callable) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _new_file_mode(path: Path) -> int:
    """The mode an ordinary new file would get (mkstemp's is private to the owner)."""
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
