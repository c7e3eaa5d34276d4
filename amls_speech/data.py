"""Manifests -> SpeechBrain datasets, and the half-source half-target training batch.

Target manifests are loaded *without* their label for adaptation (the
``target_adapt`` dataset has no ``label_id`` output key), so no training code
can read a target label by accident; only the test set exposes it.
"""

import csv
import os

import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.utils.data_pipeline import provides, takes

from amls_speech.partitions import SHARED, SOURCE_PRIVATE, TARGET_PRIVATE
from amls_speech.sampling import PairedSampler

REQUIRED_COLUMNS = ("ID", "label", "label_set", "domain")
# the input column of each modality, and the columns that come with it
INPUT_COLUMNS = {"wav": ("duration", "speaker"), "image": ()}


def input_column(fieldnames, path="manifest"):
    """The input column of a manifest header: ``wav`` (audio) or ``image``.

    Example
    -------
    >>> input_column(["ID", "image", "label"])
    'image'
    >>> input_column(["ID", "label"], "m.csv")
    Traceback (most recent call last):
    ...
    amls_speech.data.ManifestError: m.csv has no input column: one of ['wav', 'image'] ...
    """
    found = [c for c in INPUT_COLUMNS if c in (fieldnames or [])]
    if len(found) != 1:
        raise ManifestError("%s has %s input column: one of %s is needed (wav for audio, image "
                            "for pictures); re-run the data preparation"
                            % (path, "more than one" if found else "no", list(INPUT_COLUMNS)))
    return found[0]


class ManifestError(ValueError):
    """A manifest that cannot be trained on; the message names the file."""


def check_manifest(path, max_listed=5):
    """Checks columns, emptiness and that every listed input file (audio or image) exists.

    Returns the rows (list of dict) so callers need not read the file twice.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.csv")
    >>> _ = open(path, "w").write("ID,wav,duration,label,label_set,domain,speaker\\n")
    >>> check_manifest(path)
    Traceback (most recent call last):
    ...
    amls_speech.data.ManifestError: ...m.csv has no rows: ...
    """
    if not os.path.isfile(path):
        raise ManifestError("%s: manifest not found; run the data preparation first" % path)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        column = input_column(reader.fieldnames, path)
        missing_cols = [c for c in REQUIRED_COLUMNS + INPUT_COLUMNS[column]
                        if c not in (reader.fieldnames or [])]
        if missing_cols:
            raise ManifestError("%s lacks column(s) %s" % (path, missing_cols))
        rows = list(reader)
    if not rows:
        raise ManifestError(
            "%s has no rows: the preparation found no data for this set; check the "
            "data folder, the domain names and the label partition" % path
        )
    absent = [r[column] for r in rows if not os.path.isfile(r[column])]
    if absent:
        raise ManifestError(
            "%s lists %d %s file(s) that do not exist, e.g. %s; the corpus moved or is incomplete: "
            "re-run the data preparation" % (path, len(absent), "audio" if column == "wav" else
                                             "image", absent[:max_listed])
        )
    return rows


ALLOWED_LABEL_SETS = {"source": (SHARED, SOURCE_PRIVATE), "target": (SHARED, TARGET_PRIVATE)}


def check_label_sets(manifests, partition=None):
    """Checks the ``label_set`` column of a run's manifests against each other and the partition.

    Arguments
    ---------
    manifests : dict
        Manifest path -> its rows; paths whose file name starts with
        ``source`` hold source rows, the others target rows.
    partition : amls_speech.partitions.LabelPartition or None
        The hparams' label space, where the recipe gives one.

    Example
    -------
    >>> ok = {"source_train.csv": [{"label": "yes", "label_set": "shared"}],
    ...       "target_test.csv": [{"label": "yes", "label_set": "shared"}]}
    >>> check_label_sets(ok)
    >>> bad = {"source_train.csv": [{"label": "wow", "label_set": "target_private"}]}
    >>> check_label_sets(bad)
    Traceback (most recent call last):
    ...
    amls_speech.data.ManifestError: source_train.csv: label 'wow' has label_set 'target_private', ...
    """
    seen = {}
    for path, rows in manifests.items():
        side = "source" if os.path.basename(path).startswith("source") else "target"
        for row in rows:
            label, label_set = row["label"], row["label_set"]
            if partition is not None and label not in partition.classes:
                raise ManifestError(
                    "%s: label %r is outside the hparams' label space (%d classes: %s...); the "
                    "manifest comes from another corpus or partition: re-run the preparation"
                    % (path, label, len(partition.classes), ", ".join(partition.classes[:5])))
            expected = partition.label_set(label) if partition is not None else None
            if label_set not in ALLOWED_LABEL_SETS[side] or (expected and label_set != expected):
                raise ManifestError(
                    "%s: label %r has label_set %r, but %s; the manifest was written for another "
                    "partition (or edited): delete the manifest folder and re-run the preparation"
                    % (path, label, label_set, "the partition says %r" % expected if expected else
                       "a %s manifest holds only %s" % (side, " or ".join(ALLOWED_LABEL_SETS[side]))))
            if seen.setdefault(label, (label_set, path))[0] != label_set:
                raise ManifestError(
                    "%s: label %r has label_set %r, but %s says %r; the manifests disagree: delete "
                    "the manifest folder and re-run the preparation"
                    % (path, label, label_set, seen[label][1], seen[label][0]))


class LabelEncoding:
    """Source class names <-> classifier indices; everything else is "unknown".

    Arguments
    ---------
    classes : list of str
        The source classes; their order is the classifier's output order.

    Example
    -------
    >>> enc = LabelEncoding(["cat", "dog"])
    >>> enc.encode("dog"), enc.encode("wow"), enc.unknown_index
    (1, 2, 2)
    >>> enc.decode(2)
    'unknown'
    """

    def __init__(self, classes):
        self.classes = list(classes)
        self._index = {c: i for i, c in enumerate(self.classes)}
        self.unknown_index = len(self.classes)

    def encode(self, label):
        """The classifier index of ``label``; ``unknown_index`` for a class outside the source's."""
        return self._index.get(label, self.unknown_index)

    def decode(self, index):
        """The class name of ``index``; ``"unknown"`` for ``unknown_index``."""
        return self.classes[index] if index < self.unknown_index else "unknown"


def source_classes(rows):
    """Sorted class names found in source manifest rows.

    Example
    -------
    >>> source_classes([{"label": "yes"}, {"label": "no"}, {"label": "yes"}])
    ['no', 'yes']
    """
    return sorted({r["label"] for r in rows})


def make_dataset(manifest, features, encoding=None, rows=None):
    """A ``DynamicItemDataset`` with ``feats`` (and ``label_id`` if ``encoding`` is given).

    Arguments
    ---------
    manifest : str
        CSV manifest path (checked with :func:`check_manifest`).
    features : callable
        Maps the manifest's input (a wav or image path) to a tensor: a
        ``FeaturePipeline`` (``(frames, coeffs)``) or an ``ImageLoader``
        (``(channels, height, width)``).
    encoding : LabelEncoding or None
        If None the labels stay hidden: use this for unlabelled target data.
    rows : list of dict, optional
        The manifest's rows, where the caller has checked them already
        (:func:`check_manifest`); otherwise the manifest is read and checked here.

    Example
    -------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> manifest = os.path.join(tmp.name, "target_test.csv")
    >>> with open(manifest, "w") as f:
    ...     _ = f.write("ID,image,label,label_set,domain\\n")
    ...     for name, label, label_set in (("a", "cat", "shared"), ("b", "wow", "target_private")):
    ...         image = os.path.join(tmp.name, name + ".png")
    ...         _ = open(image, "w").write("")  # check_manifest only asks that it exists
    ...         _ = f.write("%s,%s,%s,%s,t\\n" % (name, image, label, label_set))
    >>> load = lambda path: torch.zeros(3, 2, 2)  # stands in for an ImageLoader
    >>> test = make_dataset(manifest, load, LabelEncoding(["cat"]))
    >>> [(test[i]["id"], test[i]["label_id"].item()) for i in range(len(test))]  # "wow": unknown
    [('a', 0), ('b', 1)]
    >>> adapt = make_dataset(manifest, load)  # no encoding: the labels stay hidden
    >>> sorted(adapt[0]), adapt[0]["feats"].shape
    (['feats', 'id'], torch.Size([3, 2, 2]))
    >>> tmp.cleanup()
    """
    rows = check_manifest(manifest) if rows is None else rows
    data = {r["ID"]: {k: v for k, v in r.items() if k != "ID"} for r in rows}
    dataset = DynamicItemDataset(data)
    keys = ["id", "feats"]
    dataset.add_dynamic_item(features, takes=input_column(list(rows[0])), provides="feats")
    if encoding is not None:

        @takes("label")
        @provides("label_id")
        def label_pipeline(label):
            """The label's classifier index, as a ``(1,)`` long tensor."""
            return torch.tensor([encoding.encode(label)], dtype=torch.long)

        dataset.add_dynamic_item(label_pipeline)
        keys.append("label_id")
    dataset.set_output_keys(keys)
    return dataset


def labels(batch):
    """The ``(batch,)`` class indices of a ``PaddedBatch`` with ``label_id``.

    Example
    -------
    >>> batch = PaddedBatch([{"label_id": torch.tensor([2])}, {"label_id": torch.tensor([0])}])
    >>> labels(batch)
    tensor([2, 0])
    """
    return batch.label_id.data.view(-1)


class PairedDataset(torch.utils.data.Dataset):
    """Item ``(i, j)`` is source example ``i`` and target example ``j``.

    Which pairs make an epoch is the sampler's business
    (:meth:`sampler`, a :class:`~amls_speech.sampling.PairedSampler`):
    fresh permutations of both domains every pass, optionally class-balanced
    on the source side.

    Arguments
    ---------
    source, target : Dataset
        Labelled source and unlabelled target datasets.
    seed : int
        Seed of the sampler's permutations.

    Example
    -------
    >>> pairs = PairedDataset(list("abc"), list("xy"))
    >>> len(pairs), pairs[(2, 0)]
    (3, ('c', 'x'))
    >>> sorted(s for s, _ in (pairs[p] for p in pairs.sampler()))
    ['a', 'b', 'c']
    """

    def __init__(self, source, target, seed=0):
        if len(source) == 0 or len(target) == 0:
            raise ManifestError("both the source and the target set need examples")
        self.source, self.target, self.seed = source, target, seed

    def __len__(self):
        return max(len(self.source), len(self.target))

    def __getitem__(self, pair):
        i, j = pair
        return self.source[i], self.target[j]

    def source_labels(self):
        """The class name of every source example, in dataset order (no target label is read)."""
        return [self.source.data[i]["label"] for i in self.source.data_ids]

    def sampler(self, balance="none"):
        """The training sampler: ``balance`` is ``"none"`` or ``"class"`` (source side)."""
        labels = self.source_labels() if balance == "class" else None
        return PairedSampler(len(self.source), len(self.target), self.seed, balance, labels)


class PairedBatch:
    """A source ``PaddedBatch`` and a target ``PaddedBatch`` that move together.

    Example
    -------
    >>> items = [({"id": "s", "feats": torch.ones(2)}, {"id": "t", "feats": torch.zeros(2)})]
    >>> batch = PairedBatch.collate(items)
    >>> batch.source.feats.data.shape, batch.target.id
    (torch.Size([1, 2]), ['t'])
    """

    def __init__(self, source, target):
        self.source, self.target = source, target

    @classmethod
    def collate(cls, items):
        """``(source item, target item)`` pairs -> one PairedBatch: the training loader's ``collate_fn``."""
        return cls(PaddedBatch([s for s, _ in items]), PaddedBatch([t for _, t in items]))

    def to(self, *args, **kwargs):
        """Both halves moved (the arguments of ``PaddedBatch.to``, e.g. a device)."""
        return PairedBatch(self.source.to(*args, **kwargs), self.target.to(*args, **kwargs))

    def pin_memory(self):
        """Both halves in pinned memory (for a DataLoader's ``pin_memory``)."""
        return PairedBatch(self.source.pin_memory(), self.target.pin_memory())
