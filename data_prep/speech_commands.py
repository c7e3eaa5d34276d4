"""Prepare Google Speech Commands v0.02 for the gender tasks (M->F, F->M).

Layout read (the official archive, unchanged)::

    <data_folder>/<word>/<speakerhash>_nohash_<n>.wav   35 word folders
    <data_folder>/_background_noise_/                   skipped (any "_..." folder is)
    <data_folder>/validation_list.txt                   "<word>/<file>.wav" per line
    <data_folder>/testing_list.txt
    <data_folder>/LICENSE, README.md, ...               ignored

Gender is not in the corpus: the user passes a CSV with the columns
``speaker,gender`` (``gender`` is male/female; M/F and any letter case are
accepted; empty, ``unknown``, ``u``, ``na`` or ``?`` mean "no label").

Decisions (documented, tested):

* Speakers that are missing from the gender CSV (or labelled unknown) are
  **skipped**; their number and file count are logged as a warning.
* Classes are numbered 1..35 alphabetically; the default partition is the
  paper's :func:`amls_speech.partitions.gender_partition` (configurable). Word
  folders that are not classes of the partition are skipped with a log; a
  class of the partition with no folder is an error.
* Source (the ``source`` gender, source classes only) uses the **official
  lists** (``valid_ratio=None``, the default): files of
  ``validation_list.txt`` *and* of ``testing_list.txt`` go to
  ``source_valid`` (the source side has no test set of its own: tests are on
  the target), files in neither list to ``source_train``. The official lists
  are split by speaker hash, so train/valid are speaker-disjoint. Passing a
  float ``valid_ratio`` ignores the lists and splits the source speakers
  (seeded) instead.
* Target (the other gender, target classes only): all its files, split
  speaker-disjointly 80/20 (``test_ratio``, seeded) into ``target_adapt`` and
  ``target_test``; the official lists are not used on the target side.
* Corrupt or empty wavs raise an error naming the file (see
  :mod:`data_prep.common`).

Usage::

    python data_prep/speech_commands.py --data_folder DIR --gender_csv FILE \\
        --save_folder DIR --source male [--seed 1234]
"""

import argparse
import csv
import logging
import os
import re
import sys

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from amls_speech.partitions import gender_partition  # noqa: E402
from data_prep.common import (  # noqa: E402
    add_split_arguments,
    check_not_empty,
    file_digest,
    find_csv_columns,
    make_row,
    named_manifests,
    parse_cli_args,
    print_manifest_paths,
    run_preparation,
    split_options,
    split_speakers,
    streamed_rows,
)

logger = logging.getLogger(__name__)

GENDERS = ("male", "female")
_GENDER_WORDS = {"male": "male", "m": "male", "female": "female", "f": "female"}
_UNKNOWN_WORDS = {"", "unknown", "u", "na", "n/a", "?", "none"}
_NAME_RE = re.compile(r"^(?P<speaker>.+?)_nohash_(?P<n>\d+)\.wav$")


def normalise_gender(value, where="gender"):
    """``male``/``female`` from M/F/male/female in any case; ``None`` if unknown.

    Example
    -------
    >>> normalise_gender(" F "), normalise_gender("MALE"), normalise_gender("unknown")
    ('female', 'male', None)
    >>> normalise_gender("x", "line 3")
    Traceback (most recent call last):
    ...
    ValueError: line 3: gender 'x' is not male/female (M/F accepted; empty or 'unknown' for no label)
    """
    v = str(value).strip().lower()
    if v in _GENDER_WORDS:
        return _GENDER_WORDS[v]
    if v in _UNKNOWN_WORDS:
        return None
    raise ValueError(
        "%s: gender %r is not male/female (M/F accepted; empty or 'unknown' for no label)"
        % (where, value)
    )


def read_gender_csv(path):
    """Read the ``speaker,gender`` CSV into ``{speaker: "male" | "female"}``.

    Header names are matched case-insensitively; extra columns are ignored.
    Rows with an unknown gender are left out. A speaker listed twice with
    different genders is an error.

    Example
    -------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "g.csv")
    >>> _ = open(p, "w").write("Speaker,Gender\\n0a7c2a8d,M\\n0b09edd3,female\\nffd2ba2f,\\n")
    >>> read_gender_csv(p)
    {'0a7c2a8d': 'male', '0b09edd3': 'female'}
    """
    if not os.path.isfile(path):
        raise FileNotFoundError("gender CSV %s not found: pass --gender_csv FILE" % path)
    genders = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = find_csv_columns(
            reader,
            ("speaker", "gender"),
            "gender CSV %s must have the columns 'speaker,gender'" % path,
        )
        for i, row in enumerate(reader, start=2):
            spk = (row[cols["speaker"]] or "").strip()
            if not spk:
                continue
            g = normalise_gender(row[cols["gender"]] or "", "%s line %d" % (path, i))
            if g is None:
                continue
            if genders.get(spk, g) != g:
                raise ValueError(
                    "%s line %d: speaker %s is listed as both %s and %s"
                    % (path, i, spk, genders[spk], g)
                )
            genders[spk] = g
    return genders


def parse_speech_commands_name(path):
    """Speaker hash of ``<speakerhash>_nohash_<n>.wav``.

    Example
    -------
    >>> parse_speech_commands_name("yes/0a7c2a8d_nohash_1.wav")
    '0a7c2a8d'
    >>> parse_speech_commands_name("yes/bad.wav")
    Traceback (most recent call last):
    ...
    ValueError: yes/bad.wav: not a Speech Commands file name <speakerhash>_nohash_<n>.wav
    """
    m = _NAME_RE.match(os.path.basename(path))
    if not m:
        raise ValueError(
            "%s: not a Speech Commands file name <speakerhash>_nohash_<n>.wav" % path
        )
    return m.group("speaker")


def list_word_folders(folder, what, hint):
    """Sorted word folders of a keyword corpus: the sub-folders not starting with ``_`` or ``.``.

    ``_background_noise_`` (and hidden folders) are not words. A missing
    ``folder`` raises ``FileNotFoundError("<what> <folder> not found: <hint>")``.

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> for name in ("yes", "no", "_background_noise_", ".git"):
    ...     os.makedirs(os.path.join(d, name))
    >>> list_word_folders(d, "Speech Commands folder", "check --data_folder")
    ['no', 'yes']
    >>> list_word_folders("/nonexistent", "Speech Commands folder", "check --data_folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: Speech Commands folder /nonexistent not found: check --data_folder
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError("%s %s not found: %s" % (what, folder, hint))
    return sorted(
        d
        for d in os.listdir(folder)
        if os.path.isdir(os.path.join(folder, d)) and not d.startswith(("_", "."))
    )


def iter_speech_commands(data_folder, classes):
    """``(relpath, word, speaker)`` for every wav of the given word folders, in manifest-ID order.

    A generator: one word folder's names are in memory at a time. The order
    (words sorted, then file names) is that of the manifest IDs
    ``<domain>_<word>_<stem>``, so rows made in this order need no sorting.

    ``relpath`` is ``<word>/<file>.wav`` (the form of the official lists).
    Folders starting with ``_`` (``_background_noise_``) are skipped, as are
    word folders that are not in ``classes`` (logged). A class without a
    folder is an error.

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for rel in ("yes/bbbb0002_nohash_0.wav", "yes/aaaa0001_nohash_1.wav", "no/aaaa0001_nohash_0.wav",
    ...             "_background_noise_/white_noise.wav"):
    ...     (Path(tmp.name) / rel).parent.mkdir(exist_ok=True)
    ...     (Path(tmp.name) / rel).touch()  # only the names are read
    >>> for item in iter_speech_commands(tmp.name, ["yes"]):  # "no" is not a class: skipped
    ...     print(item)
    ('yes/aaaa0001_nohash_1.wav', 'yes', 'aaaa0001')
    ('yes/bbbb0002_nohash_0.wav', 'yes', 'bbbb0002')
    >>> tmp.cleanup()
    """
    folders = list_word_folders(data_folder, "Speech Commands folder", "check --data_folder")
    missing = sorted(set(classes) - set(folders))
    if missing:
        raise FileNotFoundError(
            "no word folder for class(es) %s in %s: check --data_folder (it must hold "
            "the 35 word folders of Speech Commands v0.02)" % (missing, data_folder)
        )
    extra = sorted(set(folders) - set(classes))
    if extra:
        logger.info("skipping %d folder(s) that are not classes: %s", len(extra), extra)
    for word in sorted(classes):
        for name in sorted(os.listdir(os.path.join(data_folder, word))):
            if not name.lower().endswith(".wav"):
                continue
            rel = word + "/" + name
            yield rel, word, parse_speech_commands_name(rel)


def list_speech_commands(data_folder, classes):
    """:func:`iter_speech_commands` as a list.

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for rel in ("yes/aaaa0001_nohash_0.wav", "no/aaaa0001_nohash_0.wav", "no/bbbb0002_nohash_0.wav"):
    ...     (Path(tmp.name) / rel).parent.mkdir(exist_ok=True)
    ...     (Path(tmp.name) / rel).touch()  # only the names are read
    >>> [speaker for _, _, speaker in list_speech_commands(tmp.name, ["no", "yes"])]
    ['aaaa0001', 'bbbb0002', 'aaaa0001']
    >>> list_speech_commands(tmp.name, ["up"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: no word folder for class(es) ['up'] in ...
    >>> tmp.cleanup()
    """
    return list(iter_speech_commands(data_folder, classes))


def read_official_list(data_folder, name):
    """The set of ``<word>/<file>.wav`` entries of an official list file.

    Blank lines are ignored and Windows separators (``\\``) read as ``/``. A
    missing file is an error that suggests ``--valid_ratio``.

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> _ = (Path(tmp.name) / "validation_list.txt").write_text(
    ...     "yes/aaaa0001_nohash_0.wav\\n\\nno\\\\aaaa0001_nohash_0.wav\\n")
    >>> sorted(read_official_list(tmp.name, "validation_list.txt"))
    ['no/aaaa0001_nohash_0.wav', 'yes/aaaa0001_nohash_0.wav']
    >>> read_official_list(tmp.name, "testing_list.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: testing_list.txt not found in ...: ... or pass valid_ratio (--valid_ratio) ...
    >>> tmp.cleanup()
    """
    path = os.path.join(data_folder, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            "%s not found in %s: the official Speech Commands v0.02 archive has it; "
            "restore it, or pass valid_ratio (--valid_ratio) to split the source by speaker"
            % (name, data_folder)
        )
    with open(path, encoding="utf-8") as f:
        return {line.strip().replace("\\", "/") for line in f if line.strip()}


def prepare_speech_commands(
    data_folder,
    gender_csv,
    save_folder,
    source="male",
    partition=None,
    valid_ratio=None,
    test_ratio=0.2,
    seed=1234,
):
    """Write the manifests of a Speech Commands gender task.

    Arguments
    ---------
    data_folder : str
        Root of the extracted Speech Commands v0.02 archive.
    gender_csv : str
        CSV ``speaker,gender`` (see module docstring).
    save_folder : str
        Where the four manifests and ``prepare.json`` are written.
    source : str
        Source gender, ``male`` or ``female`` (M/F accepted); the target is
        the other one.
    partition : LabelPartition, optional
        Default :func:`gender_partition` (the paper's).
    valid_ratio : float, optional
        ``None`` (default): use the official validation/testing lists for
        ``source_valid``. A float: split the source speakers instead.
    test_ratio : float
        Fraction of target speakers in ``target_test``.
    seed : int
        Seed of the speaker splits.

    Returns
    -------
    dict
        ``{"source_train": path, "source_valid": ..., "target_adapt": ...,
        "target_test": ...}``.

    Example
    -------
    >>> import tempfile, numpy
    >>> from pathlib import Path
    >>> from amls_speech.partitions import LabelPartition
    >>> from data_prep.common import read_manifest
    >>> from data_prep.generated_corpus import write_wav
    >>> root = Path(tempfile.mkdtemp())
    >>> data, gender_csv = root / "sc", root / "gender.csv"
    >>> for word in ("no", "up", "yes"):
    ...     (data / word).mkdir(parents=True)
    ...     for spk in ("aaaa0001", "aaaa0002", "bbbb0001", "bbbb0002"):
    ...         write_wav(data / word / (spk + "_nohash_0.wav"), numpy.zeros(160), 16000)
    >>> _ = gender_csv.write_text("speaker,gender\\naaaa0001,M\\naaaa0002,M\\nbbbb0001,F\\nbbbb0002,F\\n")
    >>> partition = LabelPartition(["no", "up", "yes"], source_private=["no"], shared=["yes"])
    >>> paths = prepare_speech_commands(data, gender_csv, root / "M2F", "male", partition,
    ...                                 valid_ratio=0.5)  # no official lists here
    >>> speakers = {name: {r["speaker"] for r in read_manifest(paths[name])} for name in paths}
    >>> [sorted(speakers[n]) for n in ("source_train", "source_valid", "target_adapt", "target_test")]
    [['aaaa0002'], ['aaaa0001'], ['bbbb0002'], ['bbbb0001']]
    >>> sorted({r["label"] for r in read_manifest(paths["target_test"])})  # the target has no source-private word
    ['up', 'yes']
    """
    partition = partition if partition is not None else gender_partition()
    src = normalise_gender(source, "source")
    if src is None:
        raise ValueError("source must be male or female, got %r" % (source,))
    tgt = "female" if src == "male" else "male"
    data_folder = os.path.abspath(data_folder)
    gender_csv = os.path.abspath(gender_csv)
    if not os.path.isfile(gender_csv):
        raise FileNotFoundError("gender CSV %s not found: pass --gender_csv FILE" % gender_csv)
    args = {
        "task": "speech_commands",
        "version": 1,
        "data_folder": data_folder,
        "gender_csv": gender_csv,
        "gender_csv_sha1": file_digest(gender_csv),
        "source": src,
        "partition": partition,
        "valid_ratio": valid_ratio,
        "test_ratio": test_ratio,
        "seed": seed,
    }

    def build():
        """The four manifests, as streams of rows written as they are made."""
        # Two passes over the tree, so that memory grows with the speakers, not
        # the files: the first finds who is where, the second streams the rows.
        genders = read_gender_csv(gender_csv)
        src_classes = set(partition.source_classes)
        tgt_classes = set(partition.target_classes)
        source_speakers, target_speakers, unlabelled = set(), set(), {}
        for _, word, spk in iter_speech_commands(data_folder, partition.classes):
            g = genders.get(spk)
            if g is None:
                unlabelled[spk] = unlabelled.get(spk, 0) + 1
            elif g == src and word in src_classes:
                source_speakers.add(spk)
            elif g == tgt and word in tgt_classes:
                target_speakers.add(spk)
        if unlabelled:
            logger.warning(
                "%d speaker(s) (%d files) are not in the gender CSV %s: skipped",
                len(unlabelled),
                sum(unlabelled.values()),
                gender_csv,
            )
        hint = "check --data_folder / gender CSV"
        check_not_empty(source_speakers, "source (%s) data" % src, data_folder, hint)
        check_not_empty(target_speakers, "target data (%s)" % tgt, data_folder, hint)
        if valid_ratio is None:
            held = read_official_list(data_folder, "validation_list.txt")
            held |= read_official_list(data_folder, "testing_list.txt")

            def in_valid(rel, spk):
                """In an official validation or testing list."""
                return rel in held
        else:
            valid_speakers = set(split_speakers(source_speakers, valid_ratio, seed,
                                                "source (%s) speakers" % src)[1])

            def in_valid(rel, spk):
                """Said by one of the ``valid_ratio`` speakers drawn for ``source_valid``."""
                return spk in valid_speakers
        test_speakers = set(split_speakers(target_speakers, test_ratio, seed,
                                           "target (%s) speakers" % tgt)[1])

        def rows(gender, classes, keep):
            """Rows, in ID order, of the ``gender``'s files of ``classes`` that ``keep(rel, spk)`` accepts."""
            for rel, word, spk in iter_speech_commands(data_folder, partition.classes):
                if genders.get(spk) == gender and word in classes and keep(rel, spk):
                    path = os.path.join(data_folder, *rel.split("/"))
                    yield make_row(path, word, gender, spk, partition)

        valid_hint = hint + " / validation_list.txt, testing_list.txt"
        return named_manifests(
            streamed_rows(rows(src, src_classes, lambda rel, spk: not in_valid(rel, spk)),
                          "source_train (%s) data" % src, data_folder, hint),
            streamed_rows(rows(src, src_classes, in_valid),
                          "source_valid (%s) data" % src, data_folder, valid_hint),
            streamed_rows(rows(tgt, tgt_classes, lambda rel, spk: spk not in test_speakers),
                          "target_adapt (%s) data" % tgt, data_folder, hint),
            streamed_rows(rows(tgt, tgt_classes, lambda rel, spk: spk in test_speakers),
                          "target_test (%s) data" % tgt, data_folder, hint),
        )

    return run_preparation(save_folder, args, build, "speech_commands %s->%s" % (src, tgt))


def main(argv=None):
    """Command line (see the module docstring): prepare one task, print the manifest paths as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_folder", required=True, help="Speech Commands v0.02 root")
    parser.add_argument("--gender_csv", required=True, help="CSV with columns speaker,gender")
    parser.add_argument("--save_folder", required=True, help="where the manifests go")
    parser.add_argument("--source", default="male", help="source gender: male|female (M/F)")
    add_split_arguments(
        parser,
        valid_ratio=None,
        valid_help="split source speakers instead of using the official lists",
    )
    a = parse_cli_args(parser, argv)
    paths = prepare_speech_commands(
        a.data_folder,
        a.gender_csv,
        a.save_folder,
        source=a.source,
        **split_options(a),
    )
    print_manifest_paths(paths)


if __name__ == "__main__":
    main()
