"""Import SVHN (cropped digits) from its official ``.mat`` files into a digit domain.

The folder ``--input`` holds the files of format 2 of
http://ufldl.stanford.edu/housenumbers/: ``train_32x32.mat`` and
``test_32x32.mat`` (and ``extra_32x32.mat``, added to the train set with
``--extra``; off by default). Each holds ``X`` of shape ``(32, 32, 3, N)``
and ``y`` of shape ``(N, 1)``, where the label 10 is the digit 0. ``test`` is
the official test set; ``valid`` a seeded, class-stratified
``--valid_fraction`` of the train set (:mod:`data_prep.digit_files`). The
SynDigits files have the same layout (:mod:`data_prep.syndigits`).

    python -m data_prep.svhn --input ~/Downloads/svhn --out data/digits/svhn
    python -m data_prep.svhn --input ~/Downloads/svhn --out data/digits/svhn \\
        --source mnist --save_folder results/digits/MN2SV/closed/manifests
"""

import os

import numpy as np

from data_prep.digit_files import (
    DEFAULT_SEED,
    DEFAULT_VALID_FRACTION,
    DigitFileError,
    check_images,
    check_labels,
    digit_cli,
    import_domain,
    official_splits,
    require_file,
)

SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat", "extra": "extra_32x32.mat"}
HINT = ("download it again from http://ufldl.stanford.edu/housenumbers/ "
        "(format 2: cropped digits, train_32x32.mat / test_32x32.mat / extra_32x32.mat)")
DESCRIPTION = "SVHN cropped digits (Netzer et al. 2011), official train_32x32.mat / test_32x32.mat"


def read_svhn_mat(path, hint=HINT):
    """``(images (N, 32, 32, 3) uint8, digits)`` of one SVHN-layout ``.mat`` file (label 10 -> 0).

    Example
    -------
    >>> import tempfile, scipy.io
    >>> p = os.path.join(tempfile.mkdtemp(), "test_32x32.mat")
    >>> X = np.zeros((32, 32, 3, 2), np.uint8); X[0, 1, 2, 1] = 200
    >>> scipy.io.savemat(p, {"X": X, "y": np.array([[10], [3]], np.uint8)})
    >>> images, labels = read_svhn_mat(p)
    >>> images.shape, int(images[1, 0, 1, 2]), labels.tolist()
    ((2, 32, 32, 3), 200, [0, 3])
    """
    import scipy.io

    path = require_file(path, "SVHN-layout .mat file", hint)
    try:
        mat = scipy.io.loadmat(path, variable_names=["X", "y"])
    except NotImplementedError as e:  # MATLAB v7.3 files are HDF5
        raise DigitFileError(path, "a MATLAB v7.3 (HDF5) file, which scipy cannot read (%s)" % e,
                             "re-save it with save(..., '-v7') or " + hint) from None
    except Exception as e:  # scipy raises ValueError, TypeError, OSError ... on bad files
        raise DigitFileError(path, "not a readable MATLAB file, truncated or corrupt (%s: %s)"
                             % (type(e).__name__, e), hint) from None
    for name in ("X", "y"):
        if name not in mat:
            raise DigitFileError(path, "no variable %s (found %s)"
                                 % (name, sorted(k for k in mat if not k.startswith("__"))), hint)
    X = np.asarray(mat["X"])
    if X.ndim != 4 or X.shape[2] != 3:
        raise DigitFileError(path, "X of shape %s, expected (32, 32, 3, N)" % (X.shape,), hint)
    images = check_images(np.ascontiguousarray(X.transpose(3, 0, 1, 2)), path, hint)
    raw = np.asarray(mat["y"]).reshape(-1)
    labels = check_labels(np.where(raw == 10, 0, raw), path, hint, count=len(images))
    return images, labels


def svhn_files(folder, extra=False, names=SVHN_FILES, hint=HINT):
    """The input files of ``folder``, keyed ``train``, ``test`` (and ``extra``), checked to exist.

    Example
    -------
    >>> import tempfile
    >>> svhn_files(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: train_32x32.mat not found: .../train_32x32.mat does not exist; download it ...
    """
    roles = ("train", "test", "extra") if extra else ("train", "test")
    if extra and "extra" not in names:
        raise ValueError("these files have no extra set: %s" % names)
    return {role: require_file(os.path.join(os.path.expanduser(str(folder)), names[role]),
                               names[role], hint) for role in roles}


def read_svhn(folder, extra=False, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED,
              names=SVHN_FILES, hint=HINT):
    """``{split: (images (N, 32, 32, 3) uint8, digits)}`` of the ``.mat`` files of ``folder``.

    Arguments
    ---------
    folder : str
        Holds ``names["train"]`` and ``names["test"]`` (and ``names["extra"]``).
    extra : bool
        Add the extra set to the official train set (before the valid split).
    valid_fraction, seed
        The validation split of the train set.
    names : dict
        Role -> file name (:data:`SVHN_FILES`; the SynDigits names for that set).
    hint : str
        What to do about a missing or bad file.

    Example
    -------
    >>> import tempfile, scipy.io
    >>> d = tempfile.mkdtemp()
    >>> for name, n in (("train_32x32.mat", 20), ("test_32x32.mat", 2)):
    ...     y = np.array([10, 1] * (n // 2), np.uint8).reshape(n, 1)
    ...     scipy.io.savemat(os.path.join(d, name), {"X": np.zeros((32, 32, 3, n), np.uint8), "y": y})
    >>> {s: sorted(set(y.tolist())) for s, (x, y) in read_svhn(d).items()}
    {'train': [0, 1], 'valid': [0, 1], 'test': [0, 1]}
    """
    files = svhn_files(folder, extra, names, hint)
    train = read_svhn_mat(files["train"], hint)
    if extra:
        more = read_svhn_mat(files["extra"], hint)
        if more[0].shape[1:] != train[0].shape[1:]:
            raise DigitFileError(files["extra"], "images of shape %s, the train images are %s"
                                 % (more[0].shape[1:], train[0].shape[1:]), hint)
        train = (np.concatenate([train[0], more[0]]), np.concatenate([train[1], more[1]]))
    return official_splits(train, read_svhn_mat(files["test"], hint),
                           valid_fraction=valid_fraction, seed=seed)


def import_svhn(folder, out, extra=False, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED,
                names=SVHN_FILES, hint=HINT, description=DESCRIPTION, fmt="svhn_mat"):
    """Imports the ``.mat`` files of ``folder`` into the domain folder ``out`` (once).

    The arguments are those of :func:`read_svhn`, plus ``out`` (the domain
    folder, ``<data_folder>/<domain>``), the ``description`` and the format
    name ``fmt`` recorded in ``domain.json``.

    Returns
    -------
    dict or None
        The stamp written, or None when the domain was already there.

    Example
    -------
    >>> import tempfile
    >>> import_svhn(tempfile.mkdtemp(), "/tmp/never", extra=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: train_32x32.mat not found: ...
    """
    files = svhn_files(folder, extra, names, hint)
    return import_domain(out, fmt, files,
                         lambda: read_svhn(folder, extra, valid_fraction, seed, names, hint),
                         description, valid_fraction, seed, options={"extra": bool(extra)})


def _add_inputs(parser):
    parser.add_argument("--input", required=True,
                        help="folder holding train_32x32.mat and test_32x32.mat (and extra_32x32.mat)")
    parser.add_argument("--extra", action="store_true",
                        help="add extra_32x32.mat (531 131 images) to the train set")


def main(argv=None):
    """``python -m data_prep.svhn``: see the module's docstring (``--help``).

    Example
    -------
    >>> import tempfile
    >>> main(["--input", tempfile.mkdtemp(), "--out", "/tmp/never"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: train_32x32.mat not found: ...
    """
    return digit_cli(argv, __doc__, "svhn", _add_inputs,
                     lambda a, out: import_svhn(a.input, out, a.extra, a.valid_fraction, a.seed))


if __name__ == "__main__":
    main()
