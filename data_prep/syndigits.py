"""Import SynDigits (Ganin & Lempitsky's synthetic numbers) from its ``.mat`` files.

The folder ``--input`` holds ``synth_train_32x32.mat`` and
``synth_test_32x32.mat``, in SVHN's layout (``X`` of shape ``(32, 32, 3,
N)``, ``y`` of shape ``(N, 1)``, 10 meaning 0): they are read by
:mod:`data_prep.svhn`. ``test`` is the official test set; ``valid`` a seeded,
class-stratified ``--valid_fraction`` of the train set.

    python -m data_prep.syndigits --input ~/Downloads/SynDigits --out data/digits/syn_digits
    python -m data_prep.syndigits --input ~/Downloads/SynDigits --out data/digits/syn_digits \\
        --target svhn --save_folder results/digits/SYN2SV/closed/manifests
"""

from data_prep.digit_files import DEFAULT_SEED, DEFAULT_VALID_FRACTION, digit_cli
from data_prep.svhn import import_svhn, read_svhn

SYN_FILES = {"train": "synth_train_32x32.mat", "test": "synth_test_32x32.mat"}
HINT = ("download SynDigits again from the DANN authors (http://yaroslav.ganin.net/, "
        "synth_train_32x32.mat / synth_test_32x32.mat)")
DESCRIPTION = ("SynDigits synthetic numbers (Ganin & Lempitsky 2015), "
               "synth_train_32x32.mat / synth_test_32x32.mat")


def read_syndigits(folder, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED):
    """``{split: (images (N, 32, 32, 3) uint8, digits)}`` of the SynDigits files of ``folder``.

    Example
    -------
    >>> import os, tempfile, numpy as np, scipy.io
    >>> d = tempfile.mkdtemp()
    >>> for name in SYN_FILES.values():
    ...     y = np.array([[10], [2], [10], [2]], np.uint8)
    ...     scipy.io.savemat(os.path.join(d, name), {"X": np.zeros((32, 32, 3, 4), np.uint8), "y": y})
    >>> {s: y.tolist() for s, (x, y) in read_syndigits(d, 0.5).items()}
    {'train': [0, 2], 'valid': [0, 2], 'test': [0, 2, 0, 2]}
    """
    return read_svhn(folder, False, valid_fraction, seed, SYN_FILES, HINT)


def import_syndigits(folder, out, valid_fraction=DEFAULT_VALID_FRACTION, seed=DEFAULT_SEED):
    """Imports the SynDigits files of ``folder`` into the domain folder ``out`` (once).

    Returns
    -------
    dict or None
        The stamp written, or None when the domain was already there.

    Example
    -------
    >>> import tempfile
    >>> import_syndigits(tempfile.mkdtemp(), "/tmp/never")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: synth_train_32x32.mat not found: ...
    """
    return import_svhn(folder, out, False, valid_fraction, seed, SYN_FILES, HINT, DESCRIPTION,
                       fmt="syndigits_mat")


def _add_inputs(parser):
    parser.add_argument("--input", required=True,
                        help="folder holding synth_train_32x32.mat and synth_test_32x32.mat")


def main(argv=None):
    """``python -m data_prep.syndigits``: see the module's docstring (``--help``).

    Example
    -------
    >>> import tempfile
    >>> main(["--input", tempfile.mkdtemp(), "--out", "/tmp/never"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: synth_train_32x32.mat not found: ...
    """
    return digit_cli(argv, __doc__, "syn_digits", _add_inputs,
                     lambda a, out: import_syndigits(a.input, out, a.valid_fraction, a.seed))


if __name__ == "__main__":
    main()
