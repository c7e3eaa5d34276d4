"""Digit domains on disk, and the manifests of a digit adaptation task.

Every digit domain, embedded or imported from official files, is a folder in
one layout (that of torchvision's ``ImageFolder``, one level per split)::

    <data_folder>/<domain>/domain.json                  what it is, written last
    <data_folder>/<domain>/<split>/<digit>/<name>.png   split: train, valid, test

The three splits are disjoint. A source domain gives ``source_train``
(``train``) and ``source_valid`` (``valid``); a target domain gives
``target_adapt`` (``train``, used without labels) and ``target_test``
(``test``). The manifests have the columns of ``IMAGE_MANIFEST_FIELDS``:
``ID, image, label, class_number, label_set, domain`` (``image`` an absolute
path). Preparation is idempotent and atomic (:mod:`data_prep.common`).

    python -m data_prep.digits --data_folder data/digits --source mnist \\
        --target mnistm --save_folder results/digits/MN2MM/closed/manifests
"""

import argparse
import os
from pathlib import Path

import numpy as np

from amls_speech.partitions import DIGIT_LABEL_SPACES, digit_partition
from data_prep.common import (
    IMAGE_MANIFEST_FIELDS,
    check_not_empty,
    filter_label_sets,
    named_manifests,
    parse_cli_args,
    print_manifest_paths,
    run_preparation,
)
from data_prep.generated_corpus import build_corpus, read_stamp

SPLITS = ("train", "valid", "test")
STAMP_NAME = "domain.json"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def write_png(path, image):
    """Writes a ``(H, W)`` or ``(H, W, 3)`` uint8 array as a PNG (fast compression).

    Example
    -------
    >>> import tempfile
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "d.png")
    >>> write_png(path, np.full((28, 28), 255, np.uint8))
    >>> Image.open(path).size
    (28, 28)
    """
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError("%s: expected a (H, W) or (H, W, 3) uint8 image, got %s %s"
                         % (path, image.dtype, image.shape))
    Image.fromarray(image).save(path, compress_level=1)


def write_domain(out, splits, arguments, description):
    """Writes a digit domain in the layout above, atomically; does nothing if it is there.

    Arguments
    ---------
    out : str or Path
        The domain folder (``<data_folder>/<domain>``).
    splits : dict or callable
        ``{split: (images, labels)}``, images a ``(N, H, W[, 3])`` uint8 array
        and labels ``N`` digits; or a function returning that dict, called
        only when the domain must be built.
    arguments : dict
        What identifies this build (recorded in ``domain.json``): the same
        arguments again is a no-op, other ones an error (never overwritten).
    description : str
        What the images are, for the stamp and the tables.

    Returns
    -------
    dict or None
        The stamp written, or None when the domain was already there.

    Example
    -------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "toy"
    >>> imgs = np.zeros((2, 28, 28), np.uint8)
    >>> stamp = write_domain(out, {"train": (imgs, [3, 4])}, {"seed": 0}, "toy digits")
    >>> stamp["counts"], sorted(p.name for p in (out / "train").iterdir())
    ({'train': 2}, ['3', '4'])
    >>> write_domain(out, {"train": (imgs, [3, 4])}, {"seed": 0}, "toy digits") is None
    True
    """
    out = Path(out)

    def fill(tmp):
        """Write every split's PNGs into the temporary domain folder ``tmp``; return the stamp."""
        data = splits() if callable(splits) else splits
        unknown = set(data) - set(SPLITS)
        if unknown:
            raise ValueError("unknown split(s) %s; a digit domain has %s" % (sorted(unknown), SPLITS))
        counts = {}
        for split, (images, labels) in data.items():
            labels = [int(y) for y in labels]
            if len(images) != len(labels):
                raise ValueError("split %s: %d images but %d labels" % (split, len(images), len(labels)))
            for digit in sorted(set(labels)):
                (tmp / split / str(digit)).mkdir(parents=True)
            for i, (image, digit) in enumerate(zip(images, labels)):
                write_png(tmp / split / str(digit) / ("%s_%05d.png" % (split, i)), image)
            counts[split] = len(labels)
        return {"arguments": arguments, "description": description, "counts": counts}

    return build_corpus(out, arguments, STAMP_NAME, "digit domain", fill, show_diff=True)


def describe_domain(folder):
    """The description recorded in a domain's ``domain.json`` (None without one).

    Example
    -------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "toy"
    >>> _ = write_domain(out, {"test": (np.zeros((1, 8, 8), np.uint8), [0])}, {}, "toy digits")
    >>> describe_domain(out)
    'toy digits'
    """
    import json

    path = Path(folder) / STAMP_NAME
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("description")


def list_split(domain_folder, split, classes):
    """``(path, digit)`` of every image of one split whose digit is in ``classes``, sorted.

    Example
    -------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "toy"
    >>> _ = write_domain(out, {"test": (np.zeros((2, 8, 8), np.uint8), [0, 7])}, {}, "toy")
    >>> [(Path(p).name, d) for p, d in list_split(out, "test", ["7"])]
    [('test_00001.png', '7')]
    """
    folder = Path(domain_folder) / split
    items = []
    if not folder.is_dir():
        return items
    for digit_dir in sorted(folder.iterdir()):
        if digit_dir.is_dir() and digit_dir.name in classes:
            items += [(str(p.resolve()), digit_dir.name) for p in sorted(digit_dir.iterdir())
                      if p.suffix.lower() in IMAGE_SUFFIXES]
    return items


def image_rows(items, domain, partition):
    """Manifest rows of ``(path, digit)`` items.

    Example
    -------
    >>> rows = image_rows([("/d/mnist/test/3/test_00001.png", "3")], "mnist", digit_partition())
    >>> rows[0]["ID"], rows[0]["class_number"], rows[0]["label_set"]
    ('mnist_test_3_test_00001', 4, 'shared')
    """
    rows = []
    for path, digit in items:
        split = Path(path).parent.parent.name
        rows.append({
            "ID": "%s_%s_%s_%s" % (domain, split, digit, Path(path).stem),
            "image": path,
            "label": digit,
            "class_number": partition.number(digit),
            "label_set": partition.label_set(digit),
            "domain": domain,
        })
    return rows


def prepare_digits(data_folder, save_folder, source, target, partition=None):
    """Writes the four manifests of the digit task ``source`` -> ``target``.

    Arguments
    ---------
    data_folder : str
        Holds one folder per domain in the layout above.
    save_folder : str
        Where the manifests and ``prepare.json`` go.
    source, target : str
        Domain folder names (``mnist``, ``mnistm``, ``syn``, ``uci``, ``svhn`` ...).
    partition : LabelPartition, optional
        Default: all ten digits in both domains (:func:`digit_partition`).

    Returns
    -------
    dict
        Manifest name -> path.

    Example
    -------
    >>> import tempfile
    >>> from data_prep.common import read_manifest
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data = os.path.join(tmp.name, "digits")
    >>> splits = {s: (np.zeros((2, 8, 8), np.uint8), [3, 4]) for s in SPLITS}
    >>> for domain in ("mnist", "usps"):
    ...     _ = write_domain(os.path.join(data, domain), splits, {}, "toy " + domain)
    >>> paths = prepare_digits(data, os.path.join(tmp.name, "manifests"), "mnist", "usps")
    >>> [(r["ID"], r["label"], r["class_number"]) for r in read_manifest(paths["target_test"])]
    [('usps_test_3_test_00000', '3', '4'), ('usps_test_4_test_00001', '4', '5')]
    >>> tmp.cleanup()
    """
    partition = partition if partition is not None else digit_partition()
    data_folder = os.path.abspath(data_folder)
    folders = {d: os.path.join(data_folder, d) for d in (source, target)}
    for domain, folder in folders.items():
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                "digit domain %r not found: %s does not exist. Generate the embedded domains "
                "(python -m data_prep.synth_digits --out %s) or import official files "
                "(recipes/digits/README.md)" % (domain, folder, data_folder))
    args = {"task": "digits", "version": 1, "data_folder": data_folder, "source": source,
            "target": target, "partition": partition,
            "stamps": {d: read_stamp(f, STAMP_NAME) for d, f in folders.items()}}

    def build():
        """Rows of the four sets, each from one split of one domain; an empty set is an error."""
        hint = "the domain folder needs train/, valid/ and test/ with one folder per digit"
        sets = {}
        for name, domain, split, side in (
            ("source_train", source, "train", "source"), ("source_valid", source, "valid", "source"),
            ("target_adapt", target, "train", "target"), ("target_test", target, "test", "target"),
        ):
            classes = partition.source_classes if side == "source" else partition.target_classes
            rows = image_rows(list_split(folders[domain], split, classes), domain, partition)
            sets[name] = check_not_empty(filter_label_sets(rows, side), "%s images (%s/%s)"
                                         % (name, domain, split), folders[domain], hint)
        return named_manifests(**sets)

    return run_preparation(save_folder, args, build, "digits %s->%s" % (source, target),
                           fieldnames=IMAGE_MANIFEST_FIELDS)


def main(argv=None):
    """Command line (see the module docstring): prepare one task, print the manifest paths as JSON."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_folder", required=True, help="holds one folder per digit domain")
    p.add_argument("--source", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--label_space", default="closed", choices=DIGIT_LABEL_SPACES)
    p.add_argument("--save_folder", required=True)
    args = parse_cli_args(p, argv)
    print_manifest_paths(prepare_digits(args.data_folder, args.save_folder, args.source, args.target,
                                        digit_partition(args.label_space)))


if __name__ == "__main__":
    main()
