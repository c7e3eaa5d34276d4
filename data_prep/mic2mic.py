"""Prepare Mic2Mic for the microphone tasks (M->R, U->M, ...).

Mic2Mic holds keyword recordings of 31 classes captured *simultaneously* on
several microphones (Matrix Voice M, ReSpeaker R, USB U, ...); each
microphone is a domain. Its file layout is not public, so the
microphone -> folder mapping is configurable (``mic_folders``, CLI
``--mic_folders M=matrix,R=respeaker,U=usb``). The layout read is::

    <data_folder>/<mic_folder>/<word>/<speaker>_nohash_<n>.wav

(the embedded stand-in is generated in exactly this layout).

Decisions (documented, tested):

* Classes are numbered 1..31 alphabetically; the default partition is the
  paper's :func:`amls_speech.partitions.microphone_partition`. The word
  folders found under each microphone used must equal the partition's
  classes, otherwise a clear error lists the missing and unexpected ones.
* **Speaker-disjoint domains** (``disjoint_speakers=True``, the default):
  because the same utterances exist on every microphone, the speakers are
  split (seeded) into two disjoint halves, one used only on the source
  microphone and the other only on the target microphone, so that no
  utterance appears in both domains (otherwise the "unlabelled" target would
  hold the very recordings the source labels). ``disjoint_speakers=False``
  uses every speaker in both domains (the utterances then leak).
* Source rows (source classes only) are split speaker-disjointly into
  ``source_train``/``source_valid`` (``valid_ratio`` of the speakers); target
  rows (target classes only) into ``target_adapt``/``target_test``
  (``test_ratio``), all seeded. With disjoint halves this needs at least 4
  speakers.
* Corrupt or empty wavs raise an error naming the file.

Usage::

    python data_prep/mic2mic.py --data_folder DIR --source M --target R \\
        --save_folder DIR [--mic_folders M=matrix,R=respeaker,U=usb]
"""

import argparse
import logging
import os
import sys

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from amls_speech.partitions import microphone_partition  # noqa: E402
from data_prep.common import (  # noqa: E402
    add_split_arguments,
    check_not_empty,
    named_manifests,
    parse_cli_args,
    parse_mapping,
    print_manifest_paths,
    run_preparation,
    split_items_by_speaker,
    split_options,
    split_speakers,
)
from data_prep.speech_commands import list_word_folders, parse_speech_commands_name  # noqa: E402

logger = logging.getLogger(__name__)

DEFAULT_MIC_FOLDERS = {"M": "matrix", "R": "respeaker", "U": "usb"}


def list_mic_folder(mic_dir, classes):
    """``(path, word, speaker)`` for every wav under one microphone folder.

    The word folders found (folders starting with ``_`` or ``.`` aside) must
    equal ``classes``; otherwise a ``ValueError`` lists the differences.

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(d, "yes"))
    >>> list_mic_folder(d, ["no", "yes"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the word folders of ... do not match the partition's 2 classes: missing ['no'], unexpected []
    """
    found = list_word_folders(
        mic_dir, "microphone folder", "check --data_folder and --mic_folders"
    )
    if set(found) != set(classes):
        raise ValueError(
            "the word folders of %s do not match the partition's %d classes: "
            "missing %s, unexpected %s"
            % (
                mic_dir,
                len(classes),
                sorted(set(classes) - set(found)),
                sorted(set(found) - set(classes)),
            )
        )
    items = []
    for word in sorted(classes):
        folder = os.path.join(mic_dir, word)
        for name in sorted(os.listdir(folder)):
            if name.lower().endswith(".wav"):
                path = os.path.join(folder, name)
                items.append((path, word, parse_speech_commands_name(path)))
    return items


def prepare_mic2mic(
    data_folder,
    save_folder,
    source="M",
    target="R",
    mic_folders=None,
    partition=None,
    disjoint_speakers=True,
    valid_ratio=0.1,
    test_ratio=0.2,
    seed=1234,
):
    """Write the manifests of a Mic2Mic microphone task.

    Arguments
    ---------
    data_folder : str
        Root holding one folder per microphone.
    save_folder : str
        Where the four manifests and ``prepare.json`` are written.
    source, target : str
        Microphone letters (keys of ``mic_folders``), different.
    mic_folders : dict, optional
        Microphone letter -> folder name; default
        ``{"M": "matrix", "R": "respeaker", "U": "usb"}``.
    partition : LabelPartition, optional
        Default :func:`microphone_partition` (the paper's).
    disjoint_speakers : bool
        Use disjoint speaker halves for source and target (default True).
    valid_ratio : float
        Fraction of source speakers in ``source_valid``.
    test_ratio : float
        Fraction of target speakers in ``target_test``.
    seed : int
        Seed of every speaker split.

    Returns
    -------
    dict
        Manifest name -> absolute CSV path.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile as sf
    >>> from amls_speech.partitions import LabelPartition
    >>> from data_prep.common import read_manifest
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for mic in ("matrix", "respeaker"):
    ...     for word in ("no", "up", "yes"):
    ...         os.makedirs(os.path.join(tmp.name, "mic2mic", mic, word))
    ...         for spk in ("s1", "s2", "s3", "s4"):
    ...             wav = os.path.join(tmp.name, "mic2mic", mic, word, spk + "_nohash_0.wav")
    ...             sf.write(wav, np.zeros(160), 16000)
    >>> partition = LabelPartition(["no", "up", "yes"], source_private=["no"], shared=["yes"])
    >>> paths = prepare_mic2mic(os.path.join(tmp.name, "mic2mic"), os.path.join(tmp.name, "M2R"),
    ...                         partition=partition)  # M (matrix) -> R (respeaker)
    >>> for name in ("source_train", "source_valid", "target_adapt", "target_test"):
    ...     print(name, [(r["domain"], r["label"], r["speaker"]) for r in read_manifest(paths[name])])
    source_train [('M', 'no', 's4'), ('M', 'yes', 's4')]
    source_valid [('M', 'no', 's3'), ('M', 'yes', 's3')]
    target_adapt [('R', 'up', 's2'), ('R', 'yes', 's2')]
    target_test [('R', 'up', 's1'), ('R', 'yes', 's1')]
    >>> tmp.cleanup()
    """
    partition = partition if partition is not None else microphone_partition()
    mic_folders = dict(mic_folders) if mic_folders is not None else dict(DEFAULT_MIC_FOLDERS)
    for role, mic in (("source", source), ("target", target)):
        if mic not in mic_folders:
            raise ValueError(
                "%s microphone %r has no folder: known %s (set --mic_folders)"
                % (role, mic, sorted(mic_folders))
            )
    if source == target:
        raise ValueError("source and target microphones are both %r" % source)
    data_folder = os.path.abspath(data_folder)
    args = {
        "task": "mic2mic",
        "version": 1,
        "data_folder": data_folder,
        "source": source,
        "target": target,
        "mic_folders": {source: mic_folders[source], target: mic_folders[target]},
        "partition": partition,
        "disjoint_speakers": bool(disjoint_speakers),
        "valid_ratio": valid_ratio,
        "test_ratio": test_ratio,
        "seed": seed,
    }

    def build():
        """List both microphones, keep each side's speakers and classes, split each in two."""
        src_items = list_mic_folder(os.path.join(data_folder, mic_folders[source]), partition.classes)
        tgt_items = list_mic_folder(os.path.join(data_folder, mic_folders[target]), partition.classes)
        if disjoint_speakers:
            everyone = [s for _, _, s in src_items] + [s for _, _, s in tgt_items]
            if len(set(everyone)) < 4:
                raise ValueError(
                    "disjoint source/target speaker halves, each split in two, need at "
                    "least 4 speakers; found %d in %s (or pass disjoint_speakers=False / "
                    "--no_disjoint_speakers)" % (len(set(everyone)), data_folder)
                )
            src_spk, tgt_spk = split_speakers(
                everyone, 0.5, seed, "Mic2Mic speakers into source/target halves"
            )
            src_spk, tgt_spk = set(src_spk), set(tgt_spk)
        else:
            src_spk = {s for _, _, s in src_items}
            tgt_spk = {s for _, _, s in tgt_items}
        src_classes, tgt_classes = set(partition.source_classes), set(partition.target_classes)
        source_items = [
            (p, w, source, s) for p, w, s in src_items if s in src_spk and w in src_classes
        ]
        target_items = [
            (p, w, target, s) for p, w, s in tgt_items if s in tgt_spk and w in tgt_classes
        ]
        hint = "check --data_folder / --mic_folders"
        check_not_empty(source_items, "source data (microphone %s)" % source, data_folder, hint)
        check_not_empty(target_items, "target data (microphone %s)" % target, data_folder, hint)
        return named_manifests(
            *split_items_by_speaker(
                source_items, partition, valid_ratio, seed, "source (%s) speakers" % source
            ),
            *split_items_by_speaker(
                target_items, partition, test_ratio, seed, "target (%s) speakers" % target
            ),
        )

    return run_preparation(save_folder, args, build, "mic2mic %s->%s" % (source, target))


def main(argv=None):
    """Command line (see the module docstring): prepare one task, print the manifest paths as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_folder", required=True, help="root with one folder per microphone")
    parser.add_argument("--save_folder", required=True)
    parser.add_argument("--source", default="M")
    parser.add_argument("--target", default="R")
    parser.add_argument(
        "--mic_folders",
        default=",".join("%s=%s" % kv for kv in DEFAULT_MIC_FOLDERS.items()),
        help="microphone letter -> folder, e.g. M=matrix,R=respeaker,U=usb",
    )
    parser.add_argument(
        "--no_disjoint_speakers",
        action="store_true",
        help="use every speaker in both domains (the same utterances then leak)",
    )
    add_split_arguments(parser)
    a = parse_cli_args(parser, argv)
    paths = prepare_mic2mic(
        a.data_folder,
        a.save_folder,
        source=a.source,
        target=a.target,
        mic_folders=parse_mapping(a.mic_folders),
        disjoint_speakers=not a.no_disjoint_speakers,
        **split_options(a),
    )
    print_manifest_paths(paths)


if __name__ == "__main__":
    main()
