"""Shared machinery of the corpus preparation scripts.

Every preparation script of ``data_prep/`` writes the same four SpeechBrain
CSV manifests into its ``save_folder``:

``source_train.csv``, ``source_valid.csv``
    Labelled source data, source classes only (shared + source-private).
``target_adapt.csv``
    80 % of the target data (target classes only: shared + target-private),
    used *unlabelled* during adaptation.
``target_test.csv``
    The other 20 %, held out; speaker-disjoint from ``target_adapt.csv``.

Columns, in this order: ``ID, wav, duration, label, class_number, label_set,
domain, speaker``. ``label`` is the true class name (kept for target-private
rows too, so that the evaluation can map them to "unknown"),
``class_number`` its 1-based alphabetical number in the *whole* task
(:class:`amls_speech.partitions.LabelPartition`), ``label_set`` one of
``shared``/``source_private``/``target_private``, ``wav`` an absolute path and
``duration`` seconds read from the file header (no decoding).

Decisions that hold for every script:

* **Corrupt audio is an error, never silently skipped.** A file that
  soundfile cannot open, or that has zero frames, raises
  :class:`AudioFileError` naming the file and saying "delete or re-download
  it": a silently shrunk corpus would make results incomparable. A git-lfs
  pointer left in place of a wav (cloning without ``git lfs``) is recognised
  and reported as such.
* **Idempotence.** A ``prepare.json`` stamp holding the (JSON-normalised)
  arguments is written *after* the four manifests. If all four manifests and
  a stamp with the same arguments exist, the preparation is skipped and
  "already prepared" is logged; different arguments redo it (the old stamp is
  removed first, so an interrupted redo is redone at the next call).
* **Atomic writes.** Every file is written to a temporary file in the same
  folder, fsync-ed, then moved into place with :func:`os.replace`, so a
  reader never sees a half-written manifest.
* **Speaker-disjoint splits** are seeded (numpy ``RandomState``, whose stream
  is stable across numpy versions) and split the *speakers*, not the files:
  the ratio is a fraction of speakers, with at least one speaker on each side.
"""

import collections
import csv
import hashlib
import json
import logging
import os
import sys

import numpy as np
import soundfile as sf

from amls_speech.atomic import atomic_write
from amls_speech.partitions import SHARED, SOURCE_PRIVATE, TARGET_PRIVATE

logger = logging.getLogger(__name__)

MANIFEST_FIELDS = (
    "ID",
    "wav",
    "duration",
    "label",
    "class_number",
    "label_set",
    "domain",
    "speaker",
)
# image manifests (the digit recipes): the picture's path in place of wav,
# duration and speaker
IMAGE_MANIFEST_FIELDS = ("ID", "image", "label", "class_number", "label_set", "domain")
MANIFEST_NAMES = ("source_train", "source_valid", "target_adapt", "target_test")
STAMP_NAME = "prepare.json"


class AudioFileError(ValueError):
    """An audio file of the corpus is empty, corrupt or unreadable."""


class EmptySetError(ValueError):
    """A manifest (source or target set) would be empty."""


# --------------------------------------------------------------------------
# Atomic writing
# --------------------------------------------------------------------------


def write_csv_atomic(path, rows, fieldnames=MANIFEST_FIELDS):
    """Write dict rows to a CSV file atomically (temp file, fsync, replace).

    Arguments
    ---------
    path : str
        Destination file; its folder is created if needed.
    rows : iterable of dict
        One dict per row, keyed by ``fieldnames`` (extra keys are an error).
    fieldnames : sequence of str
        Column order.

    Returns
    -------
    str
        The absolute path written.

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = write_csv_atomic(os.path.join(d, "m.csv"), [{"a": 1, "b": "x"}], ["a", "b"])
    >>> open(p).read().splitlines()
    ['a,b', '1,x']
    >>> sorted(os.listdir(d))  # no temp file left behind
    ['m.csv']
    """

    def write(f):
        """Write the header, then every row, to the open temporary file ``f``."""
        writer = csv.DictWriter(f, fieldnames=list(fieldnames), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)

    return atomic_write(path, write)


def write_json_atomic(path, obj):
    """Write a JSON document atomically (temp file, fsync, replace).

    Example
    -------
    >>> import tempfile, os, json
    >>> p = write_json_atomic(os.path.join(tempfile.mkdtemp(), "s.json"), {"seed": 1})
    >>> json.load(open(p))
    {'seed': 1}
    """
    return atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n"))


def read_manifest(path):
    """Read a manifest written by these scripts into a list of dicts.

    Example
    -------
    >>> import tempfile, os
    >>> p = write_csv_atomic(os.path.join(tempfile.mkdtemp(), "m.csv"), [{"a": 1}], ["a"])
    >>> read_manifest(p)
    [{'a': '1'}]
    """
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def find_csv_columns(reader, names, error):
    """Find the columns ``names`` (lower case) of a ``csv.DictReader``, ignoring case and spaces.

    Returns ``{lower-case name: header as written}`` for every column; raises
    ``ValueError("<error>; found <headers>")`` when one of ``names`` is missing.

    Example
    -------
    >>> import io
    >>> reader = csv.DictReader(io.StringIO(" Speaker,GENDER\\n"))
    >>> find_csv_columns(reader, ("speaker", "gender"), "x")["gender"]
    'GENDER'
    >>> reader = csv.DictReader(io.StringIO("a,b\\n"))
    >>> find_csv_columns(reader, ("speaker",), "g.csv needs speaker")
    Traceback (most recent call last):
    ...
    ValueError: g.csv needs speaker; found ['a', 'b']
    """
    cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
    if any(name not in cols for name in names):
        raise ValueError("%s; found %s" % (error, reader.fieldnames))
    return cols


# --------------------------------------------------------------------------
# Idempotence
# --------------------------------------------------------------------------


def manifest_paths(save_folder):
    """The four manifest paths of a task, keyed by manifest name.

    Example
    -------
    >>> sorted(manifest_paths("/tmp/x"))
    ['source_train', 'source_valid', 'target_adapt', 'target_test']
    >>> manifest_paths("/tmp/x")["target_test"]
    '/tmp/x/target_test.csv'
    """
    save_folder = os.path.abspath(save_folder)
    return {name: os.path.join(save_folder, name + ".csv") for name in MANIFEST_NAMES}


def normalise_args(args):
    """Make preparation arguments JSON-comparable (round trip through JSON).

    Tuples become lists, dict keys strings; objects with a ``to_dict`` method
    (a :class:`LabelPartition`) are replaced by that dict.

    Example
    -------
    >>> normalise_args({"mics": ("M", "R"), "seed": 1})
    {'mics': ['M', 'R'], 'seed': 1}
    """

    def default(o):
        """JSON fallback: an object's ``to_dict()``; anything else is a ``TypeError``."""
        if hasattr(o, "to_dict"):
            return o.to_dict()
        raise TypeError("cannot record %r in %s" % (o, STAMP_NAME))

    return json.loads(json.dumps(args, default=default, sort_keys=True))


def file_digest(path):
    """SHA-1 of a file's bytes, recorded in the stamp for side files (gender CSV).

    Example
    -------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "g.csv")
    >>> _ = open(p, "w").write("speaker,gender\\n")
    >>> len(file_digest(p))
    40
    """
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_prepared(save_folder, args):
    """True when all four manifests exist and the stamp holds the same arguments.

    Example
    -------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> is_prepared(d, {"seed": 1})
    False
    >>> _ = write_manifests(d, {n: [] for n in MANIFEST_NAMES}, {"seed": 1})
    >>> is_prepared(d, {"seed": 1}), is_prepared(d, {"seed": 2})
    (True, False)
    """
    stamp = os.path.join(save_folder, STAMP_NAME)
    if not all(os.path.isfile(p) for p in manifest_paths(save_folder).values()):
        return False
    try:
        with open(stamp, encoding="utf-8") as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        return False
    return recorded == normalise_args(args)


def write_manifests(save_folder, manifests, args, fieldnames=MANIFEST_FIELDS):
    """Write the four manifests atomically, then the ``prepare.json`` stamp.

    The old stamp is removed first, so that a run interrupted half-way leaves
    no stamp and is redone by the next call.

    Arguments
    ---------
    save_folder : str
        Output folder (created if needed).
    manifests : dict
        Manifest name (``source_train`` ...) -> list of row dicts, or an
        iterable of rows written as it is read (:func:`streamed_rows`: the
        preparation of a large corpus then holds no row in memory).
    args : dict
        The preparation arguments, recorded in the stamp.
    fieldnames : sequence of str
        The columns (:data:`MANIFEST_FIELDS` for audio, ``IMAGE_MANIFEST_FIELDS`` for images).

    Returns
    -------
    dict
        Manifest name -> absolute CSV path.

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> paths = write_manifests(d, {n: [] for n in MANIFEST_NAMES}, {"seed": 1})
    >>> sorted(os.listdir(d))
    ['prepare.json', 'source_train.csv', 'source_valid.csv', 'target_adapt.csv', 'target_test.csv']
    """
    missing = set(MANIFEST_NAMES) - set(manifests)
    if missing:
        raise ValueError("manifests missing: %s" % sorted(missing))
    ids = {}
    for name in MANIFEST_NAMES:
        if not isinstance(manifests[name], list):  # streamed: checked as it is written
            continue
        for row in manifests[name]:
            if row["ID"] in ids:
                raise ValueError(
                    "duplicate ID %r in %s and %s" % (row["ID"], ids[row["ID"]], name)
                )
            ids[row["ID"]] = name
    os.makedirs(save_folder, exist_ok=True)
    stamp = os.path.join(save_folder, STAMP_NAME)
    if os.path.exists(stamp):
        os.remove(stamp)
    paths = manifest_paths(save_folder)
    for name in MANIFEST_NAMES:
        write_csv_atomic(paths[name], manifests[name], fieldnames)
    write_json_atomic(stamp, normalise_args(args))
    return paths


def streamed_rows(rows, what, folder, hint):
    """Passes manifest rows through while checking them: IDs strictly ascending (so unique), not empty.

    For preparations that write rows as they make them (:func:`write_manifests`
    takes iterables); an error stops the write, and the manifest being written
    is left as it was.

    Example
    -------
    >>> [r["ID"] for r in streamed_rows(iter([{"ID": "a"}, {"ID": "b"}]), "source", "/c", "check it")]
    ['a', 'b']
    >>> list(streamed_rows(iter([{"ID": "b"}, {"ID": "a"}]), "source", "/c", "check it"))
    Traceback (most recent call last):
    ...
    ValueError: source: row ID 'a' after 'b': rows must come sorted by ID, each once
    """
    last = None
    for row in rows:
        if last is not None and row["ID"] <= last:
            raise ValueError("%s: row ID %r after %r: rows must come sorted by ID, each once"
                             % (what, row["ID"], last))
        last = row["ID"]
        yield row
    if last is None:
        check_not_empty([], what, folder, hint)


def run_preparation(save_folder, args, build_fn, task="data", fieldnames=MANIFEST_FIELDS):
    """Skip if already prepared with ``args``, else build and write the manifests.

    Arguments
    ---------
    save_folder : str
        Output folder.
    args : dict
        Arguments identifying the preparation (recorded in ``prepare.json``).
    build_fn : callable
        Called with no argument when work is needed; returns the dict
        manifest name -> rows.
    task : str
        Name used in log messages.
    fieldnames : sequence of str
        The manifests' columns (see :func:`write_manifests`).

    Returns
    -------
    dict
        Manifest name -> absolute CSV path.

    Example
    -------
    >>> import tempfile
    >>> d, calls = tempfile.mkdtemp(), []
    >>> build = lambda: calls.append(1) or {n: [] for n in MANIFEST_NAMES}
    >>> _ = run_preparation(d, {"seed": 1}, build)
    >>> _ = run_preparation(d, {"seed": 1}, build)  # skipped: already prepared
    >>> len(calls)
    1
    """
    if is_prepared(save_folder, args):
        logger.info("%s already prepared in %s (same arguments): skipping", task, save_folder)
        return manifest_paths(save_folder)
    counts = {}

    def counted(name, rows):  # streamed rows are counted as they are written
        """Yield ``rows`` unchanged, counting them into ``counts[name]`` for the log."""
        counts[name] = 0
        for row in rows:
            counts[name] += 1
            yield row

    manifests = {n: m if isinstance(m, list) else counted(n, m) for n, m in build_fn().items()}
    paths = write_manifests(save_folder, manifests, args, fieldnames)
    logger.info(
        "%s prepared in %s: %s",
        task,
        save_folder,
        ", ".join("%s %d rows" % (n, counts.get(n, len(manifests[n]) if isinstance(manifests[n], list) else 0))
                  for n in MANIFEST_NAMES),
    )
    return paths


# --------------------------------------------------------------------------
# Speaker-disjoint splits
# --------------------------------------------------------------------------


def split_speakers(speakers, ratio=0.2, seed=1234, what="speakers"):
    """Split speakers into two disjoint groups, seeded.

    The second group receives ``round(ratio * n)`` speakers, clamped so that
    each group holds at least one speaker. The result depends only on the
    *set* of speakers, the ratio and the seed (speakers are sorted first).

    Arguments
    ---------
    speakers : iterable of str
        Speaker ids (duplicates allowed).
    ratio : float
        Fraction of speakers in the second group, in (0, 1).
    seed : int
        Random seed.
    what : str
        Description used in error messages (e.g. "target speakers").

    Returns
    -------
    (list, list)
        Sorted speakers of the first and second group.

    Raises
    ------
    ValueError
        Fewer than two distinct speakers: no disjoint split exists.

    Example
    -------
    >>> a, b = split_speakers(["s%d" % i for i in range(10)], ratio=0.2, seed=0)
    >>> len(a), len(b), set(a) & set(b)
    (8, 2, set())
    >>> [len(g) for g in split_speakers(["x", "y"], ratio=0.01)]  # one on each side
    [1, 1]
    >>> split_speakers(["x"])
    Traceback (most recent call last):
    ...
    ValueError: cannot split speakers speaker-disjointly: found 1 speaker(s) (['x']), need at least 2
    """
    uniq = sorted(set(speakers))
    if len(uniq) < 2:
        raise ValueError(
            "cannot split %s speaker-disjointly: found %d speaker(s) (%s), need at least 2"
            % (what, len(uniq), uniq[:5])
        )
    if not 0.0 < ratio < 1.0:
        raise ValueError("split ratio must be in (0, 1), got %r" % (ratio,))
    n_second = min(max(int(round(ratio * len(uniq))), 1), len(uniq) - 1)
    order = np.random.RandomState(seed).permutation(len(uniq))
    second = sorted(uniq[i] for i in order[:n_second])
    second_set = set(second)
    first = [s for s in uniq if s not in second_set]
    return first, second


def split_rows_by_speaker(rows, ratio=0.2, seed=1234, what="speakers"):
    """Split manifest rows speaker-disjointly (see :func:`split_speakers`).

    Example
    -------
    >>> rows = [{"speaker": s, "ID": s + str(i)} for s in "abcde" for i in range(2)]
    >>> big, small = split_rows_by_speaker(rows, ratio=0.2, seed=1)
    >>> len(big), len(small)
    (8, 2)
    >>> {r["speaker"] for r in big} & {r["speaker"] for r in small}
    set()
    """
    _, second = split_speakers([r["speaker"] for r in rows], ratio, seed, what)
    second = set(second)
    return (
        [r for r in rows if r["speaker"] not in second],
        [r for r in rows if r["speaker"] in second],
    )


def split_items_by_speaker(items, partition, ratio=0.2, seed=1234, what="speakers"):
    """Rows of ``(path, label, domain, speaker)`` items, split speaker-disjointly.

    :func:`build_rows` then :func:`split_rows_by_speaker`: how a preparation
    turns the files of one side into ``source_train``/``source_valid`` or
    ``target_adapt``/``target_test``.

    Example
    -------
    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> from amls_speech.partitions import emotion_partition
    >>> d = tempfile.mkdtemp()
    >>> items = []
    >>> for spk in "abcd":
    ...     sf.write(os.path.join(d, spk + ".wav"), np.zeros(160), 16000)
    ...     items.append((os.path.join(d, spk + ".wav"), "Sad", "c", spk))
    >>> big, small = split_items_by_speaker(items, emotion_partition(), ratio=0.25, seed=0)
    >>> len(big), len(small), small[0]["label_set"]
    (3, 1, 'source_private')
    """
    return split_rows_by_speaker(build_rows(items, partition), ratio, seed, what)


def named_manifests(source_train, source_valid, target_adapt, target_test):
    """The four manifests keyed by name, as a preparation's ``build_fn`` returns them.

    Example
    -------
    >>> list(named_manifests([], [], [], [{"ID": "x"}]).items())[-1]
    ('target_test', [{'ID': 'x'}])
    """
    return dict(zip(MANIFEST_NAMES, (source_train, source_valid, target_adapt, target_test)))


# --------------------------------------------------------------------------
# Audio checks
# --------------------------------------------------------------------------


def audio_duration(path):
    """Duration in seconds, from the file header (no decoding).

    Raises
    ------
    AudioFileError
        The file is missing, unreadable by soundfile (corrupt, truncated,
        a git-lfs pointer...) or has zero frames. The message names the file
        and says what to do: corrupt files are never skipped silently.

    Example
    -------
    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> d = tempfile.mkdtemp()
    >>> sf.write(os.path.join(d, "a.wav"), np.zeros(1600), 16000)
    >>> audio_duration(os.path.join(d, "a.wav"))
    0.1
    >>> _ = open(os.path.join(d, "bad.wav"), "wb").write(b"garbage")
    >>> audio_duration(os.path.join(d, "bad.wav"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    data_prep.common.AudioFileError: cannot read audio file .../bad.wav (...): it is corrupt or not audio; delete or re-download it
    """
    if not os.path.isfile(path):
        raise AudioFileError("audio file %s does not exist" % path)
    try:
        info = sf.info(path)
    except Exception as err:  # soundfile raises LibsndfileError/RuntimeError
        with open(path, "rb") as f:
            head = f.read(64)
        if head.startswith(b"version https://git-lfs"):
            raise AudioFileError(
                "audio file %s is a git-lfs pointer, not audio: fetch the real "
                "files (git lfs pull) or re-download them" % path
            ) from None
        size = os.path.getsize(path)
        why = "empty file, 0 bytes" if size == 0 else str(err).strip() or type(err).__name__
        raise AudioFileError(
            "cannot read audio file %s (%s): it is corrupt or not audio; "
            "delete or re-download it" % (path, why)
        ) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioFileError(
            "audio file %s is empty (0 frames): delete or re-download it" % path
        )
    return round(info.frames / info.samplerate, 6)


# --------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------


def make_id(path, label, domain):
    """Manifest ID: ``<domain>_<label>_<file stem>``, unique across domains.

    Example
    -------
    >>> make_id("/c/bed/0a7c2a8d_nohash_0.wav", "bed", "male")
    'male_bed_0a7c2a8d_nohash_0'
    """
    stem = os.path.splitext(os.path.basename(path))[0]
    return "%s_%s_%s" % (domain, label, stem)


def make_row(path, label, domain, speaker, partition, uid=None):
    """One manifest row for a file (reads the duration; checks the audio).

    Arguments
    ---------
    path : str
        Audio file; recorded as an absolute path.
    label : str
        True class name; must be a class of ``partition``.
    domain : str
        Domain name (``male``, ``M``, ``crema_d`` ...).
    speaker : str
        Speaker id.
    partition : amls_speech.partitions.LabelPartition
        Gives the class number and label set.
    uid : str, optional
        Manifest ID; default :func:`make_id`.

    Example
    -------
    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> from amls_speech.partitions import emotion_partition
    >>> p = os.path.join(tempfile.mkdtemp(), "1001_DFA_ANG_XX.wav")
    >>> sf.write(p, np.zeros(8000), 16000)
    >>> row = make_row(p, "Angry", "crema_d", "1001", emotion_partition())
    >>> [row[k] for k in ("ID", "duration", "class_number", "label_set")]
    ['crema_d_Angry_1001_DFA_ANG_XX', 0.5, 1, 'shared']
    """
    if label not in partition.classes:
        raise ValueError(
            "label %r of %s is not a class of the partition %s" % (label, path, partition.classes)
        )
    path = os.path.abspath(path)
    return {
        "ID": uid if uid is not None else make_id(path, label, domain),
        "wav": path,
        "duration": audio_duration(path),
        "label": label,
        "class_number": partition.number(label),
        "label_set": partition.label_set(label),
        "domain": domain,
        "speaker": str(speaker),
    }


def build_rows(items, partition):
    """Manifest rows from ``(path, label, domain, speaker)`` tuples, sorted by ID.

    Example
    -------
    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> from amls_speech.partitions import emotion_partition
    >>> d = tempfile.mkdtemp()
    >>> for n in ("a", "b"):
    ...     sf.write(os.path.join(d, n + ".wav"), np.zeros(160), 16000)
    >>> rows = build_rows([(os.path.join(d, "b.wav"), "Sad", "c", "2"),
    ...                    (os.path.join(d, "a.wav"), "Calm", "c", "1")], emotion_partition())
    >>> [(r["ID"], r["class_number"], r["label_set"]) for r in rows]
    [('c_Calm_a', 2, 'shared'), ('c_Sad_b', 6, 'source_private')]
    """
    rows = [make_row(p, lab, dom, spk, partition) for p, lab, dom, spk in items]
    return sorted(rows, key=lambda r: r["ID"])


def filter_label_sets(rows, side):
    """Keep the rows whose class belongs to ``side`` (``"source"`` or ``"target"``).

    Source = shared + source-private; target = shared + target-private.

    Example
    -------
    >>> rows = [{"label_set": s} for s in ("shared", "source_private", "target_private")]
    >>> [r["label_set"] for r in filter_label_sets(rows, "target")]
    ['shared', 'target_private']
    """
    keep = {"source": (SHARED, SOURCE_PRIVATE), "target": (SHARED, TARGET_PRIVATE)}[side]
    return [r for r in rows if r["label_set"] in keep]


def check_not_empty(rows, what, folder, hint):
    """Raise :class:`EmptySetError` when a set of rows (or items) is empty.

    Example
    -------
    >>> check_not_empty([], "target data", "/data", "check --data_folder / gender CSV")
    Traceback (most recent call last):
    ...
    data_prep.common.EmptySetError: no target data found in /data: check --data_folder / gender CSV
    """
    if not rows:
        raise EmptySetError("no %s found in %s: %s" % (what, folder, hint))
    return rows


def count_by(rows, key="label"):
    """``{value: count}`` of a column, sorted by value (for logs and checks).

    Example
    -------
    >>> count_by([{"label": "b"}, {"label": "a"}, {"label": "b"}])
    {'a': 1, 'b': 2}
    """
    out = {}
    for r in rows:
        out[r[key]] = out.get(r[key], 0) + 1
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------
# CLI helpers
# --------------------------------------------------------------------------


def parse_mapping(text, none_words=("none", "drop", "")):
    """Parse ``"A=x,B=y"`` into a dict; values ``none``/``drop``/empty -> ``None``.

    Example
    -------
    >>> parse_mapping("M=matrix, R=respeaker")
    {'M': 'matrix', 'R': 'respeaker'}
    >>> parse_mapping("DIS=none,NEU=Calm")
    {'DIS': None, 'NEU': 'Calm'}
    """
    out = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError("bad mapping item %r in %r: expected KEY=VALUE" % (part, text))
        key, value = (s.strip() for s in part.split("=", 1))
        out[key] = None if value.lower() in none_words else value
    return out


def setup_cli_logging():
    """Log INFO messages to stderr (used by the ``__main__`` blocks).

    A no-op when the root logger already has a handler (``logging.basicConfig``).

    Example
    -------
    >>> root = logging.getLogger()
    >>> saved = root.handlers[:], root.level
    >>> root.handlers = []
    >>> setup_cli_logging()
    >>> record = logging.makeLogRecord({"name": "data_prep.x", "levelname": "INFO", "msg": "done"})
    >>> logging.getLevelName(root.level), root.handlers[0].format(record)
    ('INFO', 'INFO data_prep.x: done')
    >>> root.handlers, root.level = saved
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def add_split_arguments(parser, valid_ratio=0.1, valid_help=None):
    """Add ``--valid_ratio``, ``--test_ratio`` and ``--seed`` to a preparation's parser.

    The defaults are those of the ``prepare_*`` functions; ``valid_ratio``
    and ``valid_help`` set the default and help of ``--valid_ratio``.

    Example
    -------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_split_arguments(parser)
    >>> vars(parser.parse_args(["--seed", "3"]))
    {'valid_ratio': 0.1, 'test_ratio': 0.2, 'seed': 3}
    """
    parser.add_argument("--valid_ratio", type=float, default=valid_ratio, help=valid_help)
    parser.add_argument("--test_ratio", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1234)


def split_options(args):
    """The keyword arguments of a ``prepare_*`` function set by :func:`add_split_arguments`.

    Example
    -------
    >>> import argparse
    >>> split_options(argparse.Namespace(valid_ratio=None, test_ratio=0.2, seed=3, source="male"))
    {'valid_ratio': None, 'test_ratio': 0.2, 'seed': 3}
    """
    return {"valid_ratio": args.valid_ratio, "test_ratio": args.test_ratio, "seed": args.seed}


def parse_cli_args(parser, argv):
    """Parse a preparation's command line, then log INFO messages to stderr.

    Example
    -------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("--save_folder")
    >>> parse_cli_args(parser, ["--save_folder", "out"]).save_folder
    'out'
    """
    args = parser.parse_args(argv)
    setup_cli_logging()
    return args


def print_manifest_paths(paths):
    """Print what a preparation returned (manifest name -> path) as JSON on stdout.

    Example
    -------
    >>> print_manifest_paths({"target_test": "/m/target_test.csv"})
    {
      "target_test": "/m/target_test.csv"
    }
    """
    print(json.dumps(paths, indent=2))


def corpus_summary_main(argv, usage, list_corpus, what, emotion_label):
    """Command line of a corpus reader: list ``ROOT``, print counts by emotion.

    Arguments
    ---------
    argv : list of str or None
        The arguments (default ``sys.argv[1:]``): exactly one, the root.
    usage : str
        Printed to stderr when the arguments are wrong.
    list_corpus : callable
        ``list_corpus(root)`` returns records with ``actor`` and ``emotion``.
    what : str
        What a record is, for the first line (``"files"``).
    emotion_label : callable
        Text of an emotion in its line (the count follows).

    Returns
    -------
    int
        The exit status: 0, or 2 after printing ``usage``.

    Example
    -------
    >>> from collections import namedtuple
    >>> R = namedtuple("R", "actor emotion")
    >>> corpus_summary_main(["root"], "usage", lambda root: [R("1", "sad"), R("2", "sad")],
    ...                     "files", lambda e: "%-5s" % e)
    2 files, 2 actors
      sad   2
    0
    """
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(usage, file=sys.stderr)
        return 2
    setup_cli_logging()
    records = list_corpus(argv[0])
    print("%d %s, %d actors" % (len(records), what, len({r.actor for r in records})))
    for emotion, n in sorted(collections.Counter(r.emotion for r in records).items()):
        print("  %s %d" % (emotion_label(emotion), n))
    return 0
