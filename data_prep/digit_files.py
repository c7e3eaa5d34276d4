"""What the importers of official digit files share.

One script per format turns the files a user downloaded into a digit domain
in the layout of :mod:`data_prep.digits` (``mnist_idx.py``, ``svhn.py``,
``syndigits.py``, ``usps.py``, ``mnistm.py``). Decisions that hold for all:

* **Splits.** ``test`` is the official test set. Where the official files
  have no validation set, ``valid`` is a class-stratified, seeded (numpy
  ``RandomState``) fraction of the official train set
  (:func:`stratified_valid_split`, default 10 %, seed 1234) and ``train`` the
  rest, so the three splits are disjoint.
* **Bad input is an error, never skipped.** A missing file, a wrong magic
  number, a truncated file, a count mismatch between images and labels or a
  label outside 0..9 raises an error naming the file and saying what to do;
  nothing is written (:func:`data_prep.digits.write_domain` is atomic).
* **Idempotence.** The domain's stamp records the format, the absolute input
  paths and their sizes, the valid fraction and the seed: importing the same
  files again is a no-op, other files into the same folder an error.
* **Command line** (:func:`digit_cli`): ``--input`` (the official files),
  ``--out <data_folder>/<domain>``, ``--valid_fraction``, ``--seed``; with
  ``--target DOMAIN`` (the imported domain is the source) or ``--source
  DOMAIN`` (it is the target), a domain of the same ``data_folder``, and
  ``--save_folder``, also the four manifests of the task
  (:func:`data_prep.digits.prepare_digits`).
"""

import argparse
import logging
import os

import numpy as np

from amls_speech.partitions import DIGIT_LABEL_SPACES, digit_partition
from data_prep.common import normalise_args, parse_cli_args, print_manifest_paths
from data_prep.digits import prepare_digits, write_domain

logger = logging.getLogger(__name__)

DEFAULT_VALID_FRACTION = 0.1
DEFAULT_SEED = 1234
DEFAULT_DATA_FOLDER = os.path.join("data", "digits")


class DigitFileError(ValueError):
    """An official digit file is truncated, corrupt or not in the expected format.

    The message is ``"<path>: <problem>; <what to do>"``.

    Example
    -------
    >>> str(DigitFileError("/d/x.mat", "no variable X", "download it again"))
    '/d/x.mat: no variable X; download it again'
    """

    def __init__(self, path, problem, hint):
        super().__init__("%s: %s; %s" % (path, problem, hint))
        self.path = str(path)


def require_file(path, what, hint):
    """The absolute path of an input file; :class:`FileNotFoundError` naming it when missing.

    Example
    -------
    >>> import tempfile
    >>> require_file(os.path.join(tempfile.mkdtemp(), "t.mat"), "the SVHN test file",
    ...              "download it")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: the SVHN test file not found: .../t.mat does not exist; download it
    """
    path = os.path.abspath(os.path.expanduser(str(path)))
    if not os.path.isfile(path):
        raise FileNotFoundError("%s not found: %s does not exist; %s" % (what, path, hint))
    return path


def input_record(path):
    """``{"path": absolute path, "bytes": size}`` of an input, recorded in the stamp.

    Example
    -------
    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "a")
    >>> _ = open(p, "wb").write(b"abc")
    >>> input_record(p)["bytes"]
    3
    """
    path = os.path.abspath(str(path))
    return {"path": path, "bytes": os.path.getsize(path) if os.path.isfile(path) else None}


def check_labels(labels, path, hint, count=None):
    """Digits ``0..9`` as an int64 array; :class:`DigitFileError` naming ``path`` otherwise.

    Arguments
    ---------
    labels : array-like
        The labels as read (integers, or integral floats).
    path : str
        The file they come from, for the message.
    hint : str
        What to do about a bad file.
    count : int, optional
        The number of images they label: another length is an error.

    Example
    -------
    >>> check_labels(np.array([3.0, 0.0]), "y.mat", "re-download it")
    array([3, 0])
    >>> check_labels([3, 12], "y.mat", "re-download it")
    Traceback (most recent call last):
    ...
    data_prep.digit_files.DigitFileError: y.mat: label 12 (item 1) is not a digit 0..9; re-download it
    >>> check_labels([3], "y.mat", "re-download it", count=2)
    Traceback (most recent call last):
    ...
    data_prep.digit_files.DigitFileError: y.mat: 1 labels for 2 images; re-download it
    """
    raw = np.asarray(labels).reshape(-1)
    if count is not None and len(raw) != count:
        raise DigitFileError(path, "%d labels for %d images" % (len(raw), count), hint)
    if raw.dtype.kind not in "iuf" and len(raw):
        raise DigitFileError(path, "labels of type %s, expected numbers" % raw.dtype, hint)
    values = raw.astype(np.float64)
    bad = np.flatnonzero(~np.isin(values, np.arange(10)))
    if len(bad):
        raise DigitFileError(path, "label %s (item %d) is not a digit 0..9"
                             % (_number(raw[bad[0]]), bad[0]), hint)
    return values.astype(np.int64)


def _number(x):
    x = x.item() if hasattr(x, "item") else x
    return int(x) if isinstance(x, float) and x.is_integer() else x


def check_images(images, path, hint, count=None):
    """A ``(N, H, W)`` or ``(N, H, W, 3)`` uint8 array; :class:`DigitFileError` otherwise.

    Example
    -------
    >>> check_images(np.zeros((2, 28, 28, 3), np.uint8), "m.pkl", "re-create it").shape
    (2, 28, 28, 3)
    >>> check_images(np.zeros((2, 28), np.uint8), "m.pkl", "re-create it")
    Traceback (most recent call last):
    ...
    data_prep.digit_files.DigitFileError: m.pkl: images of shape (2, 28), expected (N, H, W) or (N, H, W, 3); re-create it
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] != 3):
        raise DigitFileError(path, "images of shape %s, expected (N, H, W) or (N, H, W, 3)"
                             % (images.shape,), hint)
    if images.dtype != np.uint8:
        raise DigitFileError(path, "images of type %s, expected uint8" % images.dtype, hint)
    if count is not None and len(images) != count:
        raise DigitFileError(path, "%d images for %d labels" % (len(images), count), hint)
    return images


def stratified_valid_split(labels, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED):
    """Indices ``(train, valid)`` of a seeded, class-stratified split, both sorted.

    Every digit with ``n >= 2`` items gives ``round(valid_fraction * n)`` of
    them to ``valid``, at least one and at most ``n - 1``; a digit seen once
    stays in ``train``. The split depends only on the labels, the fraction
    and the seed.

    Example
    -------
    >>> labels = np.array([0, 1] * 10)
    >>> train, valid = stratified_valid_split(labels, 0.1, seed=0)
    >>> len(train), len(valid), sorted(labels[valid].tolist())
    (18, 2, [0, 1])
    >>> set(train) & set(valid)
    set()
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError("valid_fraction must be in (0, 1), got %r" % (valid_fraction,))
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.RandomState(seed)
    valid = [np.zeros(0, np.int64)]
    for digit in np.unique(labels):
        idx = np.flatnonzero(labels == digit)
        n = len(idx)
        k = 0 if n < 2 else min(max(int(np.floor(valid_fraction * n + 0.5)), 1), n - 1)
        valid.append(idx[rng.permutation(n)[:k]])
    valid = np.sort(np.concatenate(valid))
    return np.setdiff1d(np.arange(len(labels)), valid), valid


def official_splits(train, test, valid=None, valid_fraction=DEFAULT_VALID_FRACTION,
                    seed=DEFAULT_SEED):
    """``{split: (images, labels)}`` from the official sets; ``valid`` split off ``train`` if absent.

    Arguments
    ---------
    train, test : tuple
        ``(images, labels)`` of the official train and test sets.
    valid : tuple, optional
        The official validation set; None: :func:`stratified_valid_split` of train.
    valid_fraction, seed
        As in :func:`stratified_valid_split`.

    Example
    -------
    >>> imgs = np.arange(8, dtype=np.uint8).reshape(8, 1, 1)
    >>> splits = official_splits((imgs, np.array([0, 1] * 4)), (imgs[:2], np.array([0, 1])), seed=0)
    >>> {s: len(y) for s, (x, y) in splits.items()}
    {'train': 6, 'valid': 2, 'test': 2}
    """
    if valid is None:
        images, labels = train
        keep, held = stratified_valid_split(labels, valid_fraction, seed)
        train, valid = (images[keep], labels[keep]), (images[held], labels[held])
    return {"train": train, "valid": valid, "test": test}


def import_domain(out, fmt, inputs, read, description, valid_fraction=DEFAULT_VALID_FRACTION,
                  seed=DEFAULT_SEED, options=None):
    """Writes the domain read by ``read()`` into ``out`` (once), stamped with what identifies it.

    Arguments
    ---------
    out : str or Path
        The domain folder, ``<data_folder>/<domain>``.
    fmt : str
        The format's name, recorded (``"mnist_idx"`` ...).
    inputs : dict
        Role -> input path (files or folders), recorded with their sizes.
    read : callable
        Returns ``{split: (images, labels)}``; called only when the domain must be written.
    description : str
        What the images are (names the official data set).
    valid_fraction, seed
        Recorded (:func:`stratified_valid_split`).
    options : dict, optional
        Other choices to record (``{"extra": False}``).

    Returns
    -------
    dict or None
        The stamp, or None when the domain was already there.

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> read = lambda: {"test": (np.zeros((1, 8, 8), np.uint8), np.array([5]))}
    >>> stamp = import_domain(os.path.join(d, "toy"), "toy", {"file": d}, read, "toy digits")
    >>> stamp["counts"], stamp["arguments"]["seed"]
    ({'test': 1}, 1234)
    >>> import_domain(os.path.join(d, "toy"), "toy", {"file": d}, read, "toy digits") is None
    True
    """
    arguments = normalise_args({
        "format": fmt,
        "version": 1,
        "inputs": {role: input_record(path) for role, path in inputs.items()},
        "valid_fraction": valid_fraction,
        "seed": seed,
        **(options or {}),
    })
    stamp = write_domain(out, read, arguments, description)
    if stamp is not None:
        logger.info("%s written to %s: %s", description, out, stamp["counts"])
    return stamp


def digit_cli(argv, doc, default_domain, add_inputs, run_import):
    """The command line of an importer: import, then (optionally) write a task's manifests.

    Arguments
    ---------
    argv : list of str or None
        The arguments (default ``sys.argv[1:]``).
    doc : str
        The script's docstring (the ``--help`` text).
    default_domain : str
        The domain name of the default ``--out`` (``data/digits/<domain>``).
    add_inputs : callable
        ``add_inputs(parser)`` adds the format's arguments (``--input`` ...).
    run_import : callable
        ``run_import(args, out)`` imports the domain into the folder ``out``.

    Returns
    -------
    dict
        ``{"domain": folder}``, plus the manifest paths when a task was asked for
        (also printed as JSON).

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> def run(args, out):
    ...     write_domain(out, {"test": (np.zeros((1, 8, 8), np.uint8), [2])}, {}, "toy")
    >>> res = digit_cli(["--out", os.path.join(d, "toy")], "Toy.", "toy", lambda p: None, run)  # doctest: +ELLIPSIS
    {
      "domain": ".../toy"
    }
    >>> sorted(os.listdir(os.path.join(d, "toy")))
    ['domain.json', 'test']
    """
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_inputs(p)
    p.add_argument("--out", default=os.path.join(DEFAULT_DATA_FOLDER, default_domain),
                   help="the domain folder, <data_folder>/<domain> (default: %(default)s)")
    p.add_argument("--valid_fraction", type=float, default=DEFAULT_VALID_FRACTION,
                   help="class-stratified fraction of the official train set kept as valid "
                        "(where the files have no validation set; default: %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of that split (default: %(default)s)")
    task = p.add_mutually_exclusive_group()
    task.add_argument("--target", metavar="DOMAIN",
                      help="also write the manifests of the task <this domain> -> DOMAIN "
                           "(a domain folder next to --out)")
    task.add_argument("--source", metavar="DOMAIN",
                      help="also write the manifests of the task DOMAIN -> <this domain>")
    p.add_argument("--label_space", default="closed", choices=DIGIT_LABEL_SPACES,
                   help="label spaces of the task (amls_speech.partitions.digit_partition)")
    p.add_argument("--save_folder", help="where the task's manifests go (with --target/--source)")
    args = parse_cli_args(p, argv)
    if (args.target or args.source) and not args.save_folder:
        p.error("--target/--source need --save_folder")
    if args.save_folder and not (args.target or args.source):
        p.error("--save_folder needs --target or --source")
    out = os.path.abspath(args.out)
    run_import(args, out)
    result = {"domain": out}
    if args.target or args.source:
        domain = os.path.basename(out)
        source, target = (domain, args.target) if args.target else (args.source, domain)
        result.update(prepare_digits(os.path.dirname(out), args.save_folder, source, target,
                                     digit_partition(args.label_space)))
    print_manifest_paths(result)
    return result
