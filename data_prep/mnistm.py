"""Import MNIST-M (Ganin & Lempitsky's MNIST digits blended over BSDS500 patches).

``--input`` is one of the two common distributions:

* the folder ``mnist_m/`` of ``mnist_m.tar.gz``: image folders
  ``mnist_m_train/`` and ``mnist_m_test/`` and the label lists
  ``mnist_m_train_labels.txt`` / ``mnist_m_test_labels.txt`` (lines
  ``00000000.png 5``);
* the pickle ``keras_mnistm.pkl`` (or ``.pkl.gz``): a dict of uint8 arrays
  ``(N, 28, 28, 3)`` ``train`` and ``test`` (maybe ``valid``), images only.
  The labels are those of the MNIST images they were made from: give the
  MNIST idx folder with ``--mnist_idx_folder`` (:mod:`data_prep.mnist_idx`).
  ``train`` + ``test`` match MNIST's train (60 000) and test (10 000) sets;
  a pickle with ``valid`` follows TensorFlow's ``read_data_sets`` (``valid``
  the first 5 000 MNIST train images, ``train`` the 55 000 others). Only
  load a pickle you trust (unpickling runs code).

``test`` is the official test set; ``valid`` the pickle's, else a seeded,
class-stratified ``--valid_fraction`` of the train set (:mod:`data_prep.digit_files`).

    python -m data_prep.mnistm --input ~/Downloads/mnist_m --out data/digits/mnistm
    python -m data_prep.mnistm --input ~/Downloads/keras_mnistm.pkl.gz \\
        --mnist_idx_folder ~/Downloads/mnist --out data/digits/mnistm \\
        --source mnist --save_folder results/digits/MN2MM/closed/manifests
"""

import gzip
import os
import pickle
import zlib

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
from data_prep.mnist_idx import LABELS_MAGIC, idx_files, read_idx

FOLDER_SPLITS = {"train": ("mnist_m_train", "mnist_m_train_labels.txt"),
                 "test": ("mnist_m_test", "mnist_m_test_labels.txt")}
FOLDER_HINT = ("extract mnist_m.tar.gz again (the DANN authors' MNIST-M: mnist_m_train/, "
               "mnist_m_test/, mnist_m_train_labels.txt, mnist_m_test_labels.txt)")
PICKLE_HINT = ("download keras_mnistm.pkl.gz again "
               "(https://github.com/VanushVaswani/keras_mnistm/releases)")
DESCRIPTION = "MNIST-M (Ganin & Lempitsky 2015), MNIST digits blended over BSDS500 patches (%s)"


def mnistm_inputs(path, mnist_idx_folder=None):
    """The files to read: ``{"folder", "train_labels", "test_labels"}`` or ``{"pickle", "mnist_*"}``.

    ``path`` is the ``mnist_m`` folder (or the folder holding it) or the
    pickle; a pickle needs ``mnist_idx_folder`` for its labels.

    Example
    -------
    >>> import tempfile
    >>> d = os.path.join(tempfile.mkdtemp(), "mnist_m")
    >>> os.makedirs(d)
    >>> for name in ("mnist_m_train_labels.txt", "mnist_m_test_labels.txt"):
    ...     _ = open(os.path.join(d, name), "w").write("")
    >>> sorted(mnistm_inputs(os.path.dirname(d)))
    ['folder', 'test_labels', 'train_labels']
    >>> mnistm_inputs(os.path.join(d, "keras_mnistm.pkl"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../keras_mnistm.pkl holds images only: give the MNIST idx folder ...
    """
    path = os.path.abspath(os.path.expanduser(str(path)))
    if os.path.isdir(path):
        if not os.path.isdir(os.path.join(path, FOLDER_SPLITS["train"][0])) and \
                os.path.isdir(os.path.join(path, "mnist_m")):
            path = os.path.join(path, "mnist_m")
        return {"folder": path, **{split + "_labels": require_file(
            os.path.join(path, labels), "MNIST-M label list", FOLDER_HINT)
            for split, (_, labels) in FOLDER_SPLITS.items()}}
    if mnist_idx_folder is None:
        raise ValueError("%s holds images only: give the MNIST idx folder it was made from "
                         "(--mnist_idx_folder) for the labels" % path)
    idx = idx_files(mnist_idx_folder, ("train_labels", "test_labels"))
    return {"pickle": require_file(path, "MNIST-M pickle", PICKLE_HINT),
            "mnist_train_labels": idx["train_labels"], "mnist_test_labels": idx["test_labels"]}


def _read_label_list(path):
    items = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise DigitFileError(path, "line %d is not '<image> <digit>': %.60r" % (number, line),
                                     FOLDER_HINT)
            items.append(fields)
    if not items:
        raise DigitFileError(path, "no images listed", FOLDER_HINT)
    try:
        labels = [float(label) for _, label in items]
    except ValueError as e:
        raise DigitFileError(path, "a label is not a number (%s)" % e, FOLDER_HINT) from None
    return [name for name, _ in items], check_labels(labels, path, FOLDER_HINT)


def read_mnistm_folder(folder):
    """``{"train": (images (N, H, W, 3) uint8, digits), "test": ...}`` of the ``mnist_m`` folder.

    Example
    -------
    >>> import tempfile
    >>> from PIL import Image
    >>> d = tempfile.mkdtemp()
    >>> for split, (images, labels) in FOLDER_SPLITS.items():
    ...     os.makedirs(os.path.join(d, images))
    ...     Image.new("RGB", (32, 32), (9, 8, 7)).save(os.path.join(d, images, "00000000.png"))
    ...     _ = open(os.path.join(d, labels), "w").write("00000000.png 6\\n")
    >>> images, labels = read_mnistm_folder(d)["test"]
    >>> images.shape, images[0, 0, 0].tolist(), labels.tolist()
    ((1, 32, 32, 3), [9, 8, 7], [6])
    """
    from PIL import Image

    out = {}
    for split, (image_dir, labels_name) in FOLDER_SPLITS.items():
        labels_path = require_file(os.path.join(folder, labels_name), "MNIST-M label list", FOLDER_HINT)
        names, labels = _read_label_list(labels_path)
        images = []
        for name in names:
            path = os.path.join(os.path.abspath(folder), image_dir, name)
            if not os.path.isfile(path):
                raise FileNotFoundError("MNIST-M image not found: %s (listed in %s) does not exist; %s"
                                        % (path, labels_path, FOLDER_HINT))
            try:
                with Image.open(path) as im:
                    image = np.asarray(im.convert("RGB"))
            except OSError as e:
                raise DigitFileError(path, "not a readable image (%s)" % e, FOLDER_HINT) from None
            if images and image.shape != images[0].shape:
                raise DigitFileError(path, "an image of shape %s, the others are %s"
                                     % (image.shape, images[0].shape), FOLDER_HINT)
            images.append(image)
        out[split] = (np.stack(images), labels)
    return out


def _load_pickle(path):
    try:
        with open(path, "rb") as f:
            opener = gzip.open if f.read(2) == b"\x1f\x8b" else open
        with opener(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")  # written by Python 2
    except (pickle.UnpicklingError, EOFError, OSError, zlib.error, ValueError, TypeError,
            AttributeError, ImportError, IndexError) as e:
        raise DigitFileError(path, "not a readable pickle, truncated or corrupt (%s: %s)"
                             % (type(e).__name__, e), PICKLE_HINT) from None
    if not isinstance(data, dict):
        raise DigitFileError(path, "holds a %s, expected a dict of image arrays" % type(data).__name__,
                             PICKLE_HINT)
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def read_mnistm_pickle(path, mnist_idx_folder):
    """``{split: (images (N, 28, 28, 3) uint8, digits)}`` of the pickle, labels from MNIST's idx files.

    ``train`` and ``test`` (and ``valid``) as in the pickle; without
    ``valid`` in it, only ``train`` and ``test`` are returned.

    Example
    -------
    >>> import struct, tempfile
    >>> d = tempfile.mkdtemp()
    >>> for name, labels in (("train-labels-idx1-ubyte", [1, 2, 3]), ("t10k-labels-idx1-ubyte", [4])):
    ...     _ = open(os.path.join(d, name), "wb").write(struct.pack(">II", 2049, len(labels)) + bytes(labels))
    >>> p = os.path.join(d, "keras_mnistm.pkl")
    >>> images = {"train": np.zeros((3, 28, 28, 3), np.uint8), "test": np.zeros((1, 28, 28, 3), np.uint8)}
    >>> pickle.dump(images, open(p, "wb"))
    >>> {s: y.tolist() for s, (x, y) in read_mnistm_pickle(p, d).items()}
    {'train': [1, 2, 3], 'test': [4]}
    """
    files = mnistm_inputs(path, mnist_idx_folder)
    path = files["pickle"]
    data = _load_pickle(path)
    missing = [k for k in ("train", "test") if k not in data]
    if missing:
        raise DigitFileError(path, "no %s set (found %s)" % (" or ".join(missing), sorted(map(str, data))),
                             PICKLE_HINT)
    images = {split: check_images(data[split], path, PICKLE_HINT)
              for split in ("train", "valid", "test") if split in data}
    labels = {split: check_labels(read_idx(files["mnist_%s_labels" % split], LABELS_MAGIC),
                                  files["mnist_%s_labels" % split], "check --mnist_idx_folder")
              for split in ("train", "test")}
    n_valid = len(images["valid"]) if "valid" in images else 0
    for split, n in (("train", len(images["train"]) + n_valid), ("test", len(images["test"]))):
        if n != len(labels[split]):
            raise DigitFileError(path, "%d %s images%s, but %s holds %d labels" % (
                n, split, " (train + valid)" if split == "train" and n_valid else "",
                files["mnist_%s_labels" % split], len(labels[split])),
                "give the MNIST idx folder this pickle was made from (--mnist_idx_folder)")
    out = {"train": (images["train"], labels["train"][n_valid:]),
           "test": (images["test"], labels["test"])}
    if n_valid:
        out["valid"] = (images["valid"], labels["train"][:n_valid])
    return out


def read_mnistm(path, mnist_idx_folder=None, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED):
    """``{split: (images uint8 RGB, digits)}`` of MNIST-M (:func:`mnistm_inputs` says what ``path`` is).

    ``valid`` is the pickle's when it has one, else a stratified
    ``valid_fraction`` of the train set.

    Example
    -------
    >>> import tempfile
    >>> from PIL import Image
    >>> d = tempfile.mkdtemp()
    >>> for split, (images, labels) in FOLDER_SPLITS.items():
    ...     os.makedirs(os.path.join(d, images))
    ...     for i in range(4):
    ...         Image.new("RGB", (32, 32)).save(os.path.join(d, images, "%08d.png" % i))
    ...     _ = open(os.path.join(d, labels), "w").write("".join("%08d.png %d\\n" % (i, i % 2) for i in range(4)))
    >>> {s: len(y) for s, (x, y) in read_mnistm(d, valid_fraction=0.5).items()}
    {'train': 2, 'valid': 2, 'test': 4}
    """
    files = mnistm_inputs(path, mnist_idx_folder)
    if "folder" in files:
        sets = read_mnistm_folder(files["folder"])
    else:
        sets = read_mnistm_pickle(files["pickle"], mnist_idx_folder)
    return official_splits(sets["train"], sets["test"], sets.get("valid"), valid_fraction, seed)


def import_mnistm(path, out, mnist_idx_folder=None, valid_fraction=DEFAULT_VALID_FRACTION,
                  seed=DEFAULT_SEED):
    """Imports MNIST-M (the ``mnist_m`` folder, or the pickle and MNIST's idx folder) into ``out`` (once).

    Returns
    -------
    dict or None
        The stamp written, or None when the domain was already there.

    Example
    -------
    >>> import tempfile
    >>> import_mnistm(tempfile.mkdtemp(), "/tmp/never")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: MNIST-M label list not found: .../mnist_m_train_labels.txt does not exist; ...
    """
    files = mnistm_inputs(path, mnist_idx_folder)
    kind = "folder" if "folder" in files else "pickle"
    return import_domain(out, "mnistm_" + kind, files,
                         lambda: read_mnistm(path, mnist_idx_folder, valid_fraction, seed),
                         DESCRIPTION % ("mnist_m folder" if kind == "folder" else
                                        "keras_mnistm pickle, MNIST labels"),
                         valid_fraction, seed)


def _add_inputs(parser):
    parser.add_argument("--input", required=True,
                        help="the mnist_m folder (or the folder holding it), or keras_mnistm.pkl[.gz]")
    parser.add_argument("--mnist_idx_folder",
                        help="with the pickle: the MNIST idx folder its images come from (for the labels)")


def main(argv=None):
    """``python -m data_prep.mnistm``: see the module's docstring (``--help``).

    Example
    -------
    >>> import tempfile
    >>> main(["--input", tempfile.mkdtemp(), "--out", "/tmp/never"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: MNIST-M label list not found: ...
    """
    return digit_cli(argv, __doc__, "mnistm", _add_inputs,
                     lambda a, out: import_mnistm(a.input, out, a.mnist_idx_folder, a.valid_fraction,
                                                  a.seed))


if __name__ == "__main__":
    main()
