"""Import MNIST from its official idx files into a digit domain.

The folder ``--input`` holds the four files of the MNIST page
(http://yann.lecun.com/exdb/mnist/), each raw or gzip-compressed (``.gz``)::

    train-images-idx3-ubyte  train-labels-idx1-ubyte
    t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte

(the names with a dot, ``train-images.idx3-ubyte``, are found too). The same
files of Fashion-MNIST or KMNIST import the same way, into another ``--out``.
``test`` is the official test set (10 000 images); ``valid`` a seeded,
class-stratified ``--valid_fraction`` of the official train set
(:mod:`data_prep.digit_files`).

    python -m data_prep.mnist_idx --input ~/Downloads/mnist --out data/digits/mnist
    python -m data_prep.mnist_idx --input ~/Downloads/mnist --out data/digits/mnist \\
        --target mnistm --save_folder results/digits/MN2MM/closed/manifests
"""

import gzip
import os
import struct
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
)

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
HINT = ("download it again from the MNIST page (http://yann.lecun.com/exdb/mnist/ or a mirror) "
        "and keep it raw or as the original .gz")
DESCRIPTION = "MNIST handwritten digits (LeCun et al. 1998), official idx files"


def find_idx_file(folder, name):
    """The path of the idx file ``name`` in ``folder``: raw, ``.gz``, or with a dot before ``idx``.

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "t10k-labels.idx1-ubyte.gz"), "wb").write(b"")
    >>> os.path.basename(find_idx_file(d, "t10k-labels-idx1-ubyte"))
    't10k-labels.idx1-ubyte.gz'
    >>> find_idx_file(d, "t10k-images-idx3-ubyte")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: .../t10k-images-idx3-ubyte not found (nor .gz, nor t10k-images.idx3-ubyte[.gz]); download it again ...
    """
    folder = os.path.abspath(os.path.expanduser(str(folder)))
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, name + ".gz", dotted, dotted + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError("%s not found (nor .gz, nor %s[.gz]); %s"
                            % (os.path.join(folder, name), dotted, HINT))


def idx_files(folder, keys=tuple(IDX_FILES)):
    """The idx files of ``folder``, keyed ``train_images``, ``train_labels``, ``test_*`` (or ``keys``).

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> for name in IDX_FILES.values():
    ...     _ = open(os.path.join(d, name), "wb").write(b"")
    >>> sorted(idx_files(d))
    ['test_images', 'test_labels', 'train_images', 'train_labels']
    >>> os.path.basename(idx_files(d, ["test_labels"])["test_labels"])
    't10k-labels-idx1-ubyte'
    """
    if not os.path.isdir(os.path.expanduser(str(folder))):
        raise FileNotFoundError("MNIST idx folder not found: %s is not a folder; give the folder "
                                "holding the four idx files (--input)" % os.path.abspath(str(folder)))
    return {key: find_idx_file(folder, IDX_FILES[key]) for key in keys}


def _read_bytes(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip, whatever the name
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as e:
            raise DigitFileError(path, "truncated or corrupt gzip file (%s)" % e, HINT) from None
    return data


def read_idx(path, magic):
    """The array of an idx file (raw or gzip), checking its magic number and size.

    Arguments
    ---------
    path : str
        The file.
    magic : int
        :data:`IMAGES_MAGIC` (2051, ``(N, H, W)``) or :data:`LABELS_MAGIC` (2049, ``(N,)``).

    Example
    -------
    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> _ = open(p, "wb").write(struct.pack(">II", LABELS_MAGIC, 3) + bytes([7, 0, 9]))
    >>> read_idx(p, LABELS_MAGIC)
    array([7, 0, 9], dtype=uint8)
    >>> read_idx(p, IMAGES_MAGIC)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    data_prep.digit_files.DigitFileError: .../labels-idx1-ubyte: magic number 2049 (labels), expected 2051 (images): ...
    """
    path = os.path.abspath(str(path))
    data = _read_bytes(path)
    kinds = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
    ndim = {IMAGES_MAGIC: 3, LABELS_MAGIC: 1}[magic]
    if len(data) < 4:
        raise DigitFileError(path, "%d bytes, too short for an idx file" % len(data), HINT)
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise DigitFileError(path, "magic number %d (%s), expected %d (%s): not an MNIST idx %s file"
                             % (found, kinds.get(found, "not an idx file"), magic, kinds[magic],
                                kinds[magic]), HINT)
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DigitFileError(path, "truncated header (%d bytes)" % len(data), HINT)
    dims = struct.unpack(">%dI" % ndim, data[4:header])
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise DigitFileError(path, "%s: the header announces %s = %d bytes of data, the file holds %d"
                             % ("truncated" if len(data) - header < expected else "too long",
                                "x".join(map(str, dims)), expected, len(data) - header), HINT)
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def read_idx_pair(images_path, labels_path):
    """``(images, labels)`` of an idx images file and its labels file, checked to match.

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> x, y = os.path.join(d, "x"), os.path.join(d, "y")
    >>> _ = open(x, "wb").write(struct.pack(">IIII", IMAGES_MAGIC, 2, 2, 2) + bytes(range(8)))
    >>> _ = open(y, "wb").write(struct.pack(">II", LABELS_MAGIC, 2) + bytes([4, 1]))
    >>> images, labels = read_idx_pair(x, y)
    >>> images[1].tolist(), labels.tolist()
    ([[4, 5], [6, 7]], [4, 1])
    """
    images = check_images(read_idx(images_path, IMAGES_MAGIC), images_path, HINT)
    labels = check_labels(read_idx(labels_path, LABELS_MAGIC), labels_path,
                          "is it the labels file of %s? %s" % (os.path.basename(images_path), HINT),
                          count=len(images))
    return images, labels


def read_mnist_idx(folder, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED):
    """``{split: (images (N, 28, 28) uint8, labels)}`` of the idx files of ``folder``.

    ``test`` is the official test set; ``valid`` a stratified ``valid_fraction``
    of the official train set (:func:`data_prep.digit_files.official_splits`).

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> def write(name, magic, dims, values):
    ...     with open(os.path.join(d, name), "wb") as f:
    ...         f.write(struct.pack(">%dI" % (len(dims) + 1), magic, *dims) + bytes(values))
    >>> for split, n in (("train", 20), ("t10k", 4)):
    ...     write(split + "-images-idx3-ubyte", IMAGES_MAGIC, (n, 2, 2), [0] * 4 * n)
    ...     write(split + "-labels-idx1-ubyte", LABELS_MAGIC, (n,), [0, 1] * (n // 2))
    >>> {s: len(y) for s, (x, y) in read_mnist_idx(d).items()}
    {'train': 18, 'valid': 2, 'test': 4}
    """
    files = idx_files(folder)
    return official_splits(read_idx_pair(files["train_images"], files["train_labels"]),
                           read_idx_pair(files["test_images"], files["test_labels"]),
                           valid_fraction=valid_fraction, seed=seed)


def import_mnist(folder, out, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED,
                 description=DESCRIPTION):
    """Imports the idx files of ``folder`` into the domain folder ``out`` (once).

    Arguments
    ---------
    folder : str
        Holds the four idx files (:data:`IDX_FILES`, raw or ``.gz``).
    out : str
        The domain folder, ``<data_folder>/<domain>`` (``data/digits/mnist``).
    valid_fraction, seed
        The validation split of the official train set.
    description : str
        Recorded in ``domain.json`` (another one for Fashion-MNIST, KMNIST ...).

    Returns
    -------
    dict or None
        The stamp written, or None when the domain was already there.

    Example
    -------
    >>> import tempfile
    >>> import_mnist(tempfile.mkdtemp(), "/tmp/never")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: .../train-images-idx3-ubyte not found ...
    """
    files = idx_files(folder)
    return import_domain(out, "mnist_idx", files, lambda: read_mnist_idx(folder, valid_fraction, seed),
                         description, valid_fraction, seed)


def _add_inputs(parser):
    parser.add_argument("--input", required=True, help="folder holding the four idx files (raw or .gz)")


def main(argv=None):
    """``python -m data_prep.mnist_idx``: see the module's docstring (``--help``).

    Example
    -------
    >>> import tempfile
    >>> main(["--input", tempfile.mkdtemp(), "--out", "/tmp/never"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: .../train-images-idx3-ubyte not found ...
    """
    return digit_cli(argv, __doc__, "mnist", _add_inputs,
                     lambda a, out: import_mnist(a.input, out, a.valid_fraction, a.seed))


if __name__ == "__main__":
    main()
