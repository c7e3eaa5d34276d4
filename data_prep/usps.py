"""Import USPS (16x16 grey handwritten digits) into a digit domain.

``--input`` is one of the two common distributions:

* ``usps.h5`` (Kaggle's "USPS dataset"): groups ``train`` and ``test``, each
  with ``data`` (``N x 256`` floats in [0, 1]) and ``target`` (``N`` digits).
  Reading it needs ``h5py`` (``pip install h5py``).
* the LIBSVM files ``usps.bz2`` (train) and ``usps.t.bz2`` (test), or the
  same unpacked (``usps``, ``usps.t``): lines ``label 1:v1 2:v2 ... 256:v256``
  with values in [-1, 1] and labels 1..10 for the digits 0..9 (digit =
  label - 1); give the train file or their folder.

Pixels are scaled to 0..255 (rounded). ``test`` is the official test set
(2007 images); ``valid`` a seeded, class-stratified ``--valid_fraction`` of
the official train set (7291 images; :mod:`data_prep.digit_files`).

    python -m data_prep.usps --input ~/Downloads/usps.h5 --out data/digits/usps
    python -m data_prep.usps --input ~/Downloads/usps.bz2 --out data/digits/usps \\
        --source mnist --save_folder results/digits/MN2US/closed/manifests
"""

import bz2
import os

import numpy as np

from data_prep.digit_files import (
    DEFAULT_SEED,
    DEFAULT_VALID_FRACTION,
    DigitFileError,
    check_labels,
    digit_cli,
    import_domain,
    official_splits,
    require_file,
)

SIDE = 16
H5_NAMES = ("usps.h5", "usps.hdf5")
LIBSVM_NAMES = {"train": ("usps.bz2", "usps"), "test": ("usps.t.bz2", "usps.t")}
H5_HINT = "download usps.h5 again (https://www.kaggle.com/datasets/bistaumanga/usps-dataset)"
LIBSVM_HINT = ("download it again from the LIBSVM data sets page "
               "(https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps)")
DESCRIPTION = "USPS handwritten digits (Hull 1994), 16x16 grey, official train/test sets (%s)"


def usps_files(path):
    """What ``path`` holds: ``{"h5": file}`` or ``{"train": file, "test": file}`` (LIBSVM).

    ``path`` is ``usps.h5``, the LIBSVM train file (its test file lies next
    to it: ``usps.bz2`` -> ``usps.t.bz2``), or a folder holding either.

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> for name in ("usps.bz2", "usps.t.bz2"):
    ...     _ = open(os.path.join(d, name), "wb").write(b"")
    >>> {k: os.path.basename(v) for k, v in usps_files(d).items()}
    {'train': 'usps.bz2', 'test': 'usps.t.bz2'}
    >>> sorted(usps_files(os.path.join(d, "usps.bz2")))
    ['test', 'train']
    """
    path = os.path.abspath(os.path.expanduser(str(path)))
    if os.path.isdir(path):
        for name in H5_NAMES:
            if os.path.isfile(os.path.join(path, name)):
                return {"h5": os.path.join(path, name)}
        for name in LIBSVM_NAMES["train"]:
            if os.path.isfile(os.path.join(path, name)):
                return usps_files(os.path.join(path, name))
        raise FileNotFoundError("no USPS files in %s (looked for %s, %s); %s or %s"
                                % (path, " / ".join(H5_NAMES), " / ".join(LIBSVM_NAMES["train"]),
                                   H5_HINT, LIBSVM_HINT))
    if path.lower().endswith((".h5", ".hdf5")):
        return {"h5": require_file(path, "USPS h5 file", H5_HINT)}
    train = require_file(path, "USPS LIBSVM train file", LIBSVM_HINT)
    stem, ext = os.path.splitext(train) if train.endswith(".bz2") else (train, "")
    test = require_file(stem + ".t" + ext, "USPS LIBSVM test file (next to %s)"
                        % os.path.basename(train), LIBSVM_HINT)
    return {"train": train, "test": test}


def _to_uint8(values, low, high):
    return np.rint((np.clip(values, low, high) - low) * (255.0 / (high - low))).astype(np.uint8)


def _check_range(values, low, high, path, what, hint):
    bad = (values < low - 1e-6) | (values > high + 1e-6) | ~np.isfinite(values)
    if bad.any():
        raise DigitFileError(path, "%s value %r outside [%g, %g]" % (what, float(values[bad][0]), low, high),
                             hint)


def read_usps_h5(path):
    """``{"train": (images (N, 16, 16) uint8, digits), "test": ...}`` of ``usps.h5``.

    Needs ``h5py`` (imported here, so that the rest works without it).

    Example
    -------
    >>> import tempfile
    >>> h5py = __import__("pytest").importorskip("h5py")
    >>> p = os.path.join(tempfile.mkdtemp(), "usps.h5")
    >>> with h5py.File(p, "w") as f:
    ...     for split in ("train", "test"):
    ...         f[split + "/data"] = np.full((2, 256), 1.0); f[split + "/target"] = [4, 9]
    >>> images, labels = read_usps_h5(p)["test"]
    >>> images.shape, int(images.max()), labels.tolist()
    ((2, 16, 16), 255, [4, 9])
    """
    path = require_file(path, "USPS h5 file", H5_HINT)
    try:
        import h5py
    except ImportError:
        raise ImportError("reading %s needs h5py: pip install h5py (or use the LIBSVM files "
                          "usps.bz2 / usps.t.bz2)" % path) from None
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DigitFileError(path, "not a readable HDF5 file, truncated or corrupt (%s)" % e, H5_HINT) from None
    out = {}
    with f:
        for split in ("train", "test"):
            if split not in f or "data" not in f[split] or "target" not in f[split]:
                raise DigitFileError(path, "no %s/data and %s/target (found %s)"
                                     % (split, split, sorted(f.keys())), H5_HINT)
            try:
                data = np.asarray(f[split]["data"][()], np.float64)
                target = np.asarray(f[split]["target"][()])
            except (OSError, ValueError) as e:
                raise DigitFileError(path, "cannot read %s (%s): truncated or corrupt" % (split, e),
                                     H5_HINT) from None
            if data.ndim != 2 or data.shape[1] != SIDE * SIDE:
                raise DigitFileError(path, "%s/data of shape %s, expected (N, 256)" % (split, data.shape),
                                     H5_HINT)
            _check_range(data, 0.0, 1.0, path, "%s/data" % split, H5_HINT)
            labels = check_labels(target, path, H5_HINT, count=len(data))
            out[split] = (_to_uint8(data, 0.0, 1.0).reshape(-1, SIDE, SIDE), labels)
    return out


def _read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:3] == b"BZh":
        try:
            data = bz2.decompress(data)
        except (EOFError, OSError, ValueError) as e:
            raise DigitFileError(path, "truncated or corrupt bz2 file (%s)" % e, LIBSVM_HINT) from None
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise DigitFileError(path, "not a text file in LIBSVM format", LIBSVM_HINT) from None


def read_usps_libsvm(path):
    """``(images (N, 16, 16) uint8, digits)`` of one LIBSVM usps file (bz2 or unpacked).

    Lines are ``label index:value ...``: the label is digit + 1 (1..10), the
    256 values in [-1, 1] (an index left out is 0, as LIBSVM means).

    Example
    -------
    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "usps.t")
    >>> _ = open(p, "w").write("10 1:1 2:-1\\n3 256:0.5\\n")
    >>> images, labels = read_usps_libsvm(p)
    >>> labels.tolist(), images[0, 0, :3].tolist(), int(images[1, 15, 15])
    ([9, 2], [255, 0, 128], 191)
    """
    path = require_file(path, "USPS LIBSVM file", LIBSVM_HINT)
    rows, labels = [], []
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        pixels = np.zeros(SIDE * SIDE)
        try:
            label = float(tokens[0])
            for token in tokens[1:]:
                index, value = token.split(":")
                if int(index) < 1:
                    raise IndexError(index)
                pixels[int(index) - 1] = float(value)
        except (ValueError, IndexError):
            raise DigitFileError(path, "line %d is not 'label index:value ...' with indices 1..256 (%.60s)"
                                 % (number, line), LIBSVM_HINT) from None
        if label not in range(1, 11):
            raise DigitFileError(path, "line %d: label %s, expected 1..10 (the LIBSVM usps labels "
                                 "are digit + 1)" % (number, tokens[0]), LIBSVM_HINT)
        rows.append(pixels)
        labels.append(int(label) - 1)
    if not rows:
        raise DigitFileError(path, "no examples", LIBSVM_HINT)
    values = np.stack(rows)
    _check_range(values, -1.0, 1.0, path, "pixel", LIBSVM_HINT)
    return _to_uint8(values, -1.0, 1.0).reshape(-1, SIDE, SIDE), check_labels(labels, path, LIBSVM_HINT)


def read_usps(path, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED):
    """``{split: (images (N, 16, 16) uint8, digits)}`` of the USPS files ``path`` (:func:`usps_files`).

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> for name, n in (("usps", 20), ("usps.t", 2)):
    ...     _ = open(os.path.join(d, name), "w").write("1 1:0\\n2 1:0\\n" * (n // 2))
    >>> {s: len(y) for s, (x, y) in read_usps(d).items()}
    {'train': 18, 'valid': 2, 'test': 2}
    """
    files = usps_files(path)
    if "h5" in files:
        sets = read_usps_h5(files["h5"])
    else:
        sets = {split: read_usps_libsvm(files[split]) for split in ("train", "test")}
    return official_splits(sets["train"], sets["test"], valid_fraction=valid_fraction, seed=seed)


def import_usps(path, out, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED):
    """Imports the USPS files ``path`` (:func:`usps_files`) into the domain folder ``out`` (once).

    Returns
    -------
    dict or None
        The stamp written, or None when the domain was already there.

    Example
    -------
    >>> import tempfile
    >>> import_usps(os.path.join(tempfile.mkdtemp(), "usps.h5"), "/tmp/never")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: USPS h5 file not found: .../usps.h5 does not exist; download usps.h5 again ...
    """
    files = usps_files(path)
    fmt = "usps_h5" if "h5" in files else "usps_libsvm"
    return import_domain(out, fmt, files, lambda: read_usps(path, valid_fraction, seed),
                         DESCRIPTION % ("usps.h5" if "h5" in files else "LIBSVM usps / usps.t"),
                         valid_fraction, seed)


def _add_inputs(parser):
    parser.add_argument("--input", required=True,
                        help="usps.h5, the LIBSVM train file usps.bz2 (usps.t.bz2 next to it), "
                             "or a folder holding either")


def main(argv=None):
    """``python -m data_prep.usps``: see the module's docstring (``--help``).

    Example
    -------
    >>> import tempfile
    >>> main(["--input", tempfile.mkdtemp(), "--out", "/tmp/never"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: no USPS files in ...
    """
    return digit_cli(argv, __doc__, "usps", _add_inputs,
                     lambda a, out: import_usps(a.input, out, a.valid_fraction, a.seed))


if __name__ == "__main__":
    main()
