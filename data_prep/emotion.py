"""Prepare the emotion task CREMA-D -> RAVDESS (the paper's C->R).

Source = CREMA-D (:mod:`data_prep.crema_d`), target = RAVDESS speech
(:mod:`data_prep.ravdess`), with the paper's 7 classes
(:func:`amls_speech.partitions.emotion_partition`): shared Angry, Calm, Fear;
source-private Happy, Sad; target-private Disgust, Surprise.

The emotion mappings are explicit parameters (``crema_map``, ``ravdess_map``;
CLI ``--crema_map ANG=Angry,...``). A value ``None`` (``none`` on the CLI)
drops the files of that code; a code left out of a mapping is dropped too.
Defaults:

=========  ========  ===============================================
corpus     code      class
=========  ========  ===============================================
CREMA-D    ANG       Angry
CREMA-D    FEA       Fear
CREMA-D    HAP       Happy
CREMA-D    NEU       Calm (CREMA-D has no "calm"; the paper's choice)
CREMA-D    SAD       Sad
CREMA-D    DIS       dropped: Disgust is target-private
RAVDESS    calm      Calm
RAVDESS    angry     Angry
RAVDESS    fearful   Fear
RAVDESS    disgust   Disgust
RAVDESS    surprised Surprise
RAVDESS    happy     dropped: Happy is source-private
RAVDESS    sad       dropped: Sad is source-private
RAVDESS    neutral   dropped: RAVDESS has a real "calm" for Calm
=========  ========  ===============================================

A mapping onto a class of the wrong side (a CREMA-D code onto a
target-private class, a RAVDESS emotion onto a source-private one) is an
error. CREMA-D is split into ``source_train``/``source_valid`` and RAVDESS
into ``target_adapt``/``target_test``, both speaker-disjoint by actor
(seeded). ``speaker`` is the CREMA-D actor id (``1001``) or the RAVDESS actor
folder (``Actor_01``); ``domain`` is ``crema_d`` or ``ravdess``. A CREMA-D
actor missing from ``VideoDemographics.csv`` keeps its files (sex is not
recorded in the manifests and is not a label; see :mod:`data_prep.crema_d`).
The sample rates differ (CREMA-D 16 kHz, RAVDESS 48 kHz); the manifests
record the true durations and the training pipeline resamples.

Usage::

    python data_prep/emotion.py --crema_folder DIR --ravdess_folder DIR --save_folder DIR
"""

import argparse
import logging
import os
import sys

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from amls_speech.partitions import emotion_partition  # noqa: E402
from data_prep.common import (  # noqa: E402
    add_split_arguments,
    check_not_empty,
    count_by,
    named_manifests,
    parse_cli_args,
    parse_mapping,
    print_manifest_paths,
    run_preparation,
    split_items_by_speaker,
    split_options,
)
from data_prep.crema_d import CREMA_EMOTIONS, list_crema_d  # noqa: E402
from data_prep.ravdess import RAVDESS_EMOTIONS, list_ravdess  # noqa: E402

logger = logging.getLogger(__name__)

DEFAULT_CREMA_MAP = {
    "ANG": "Angry",
    "DIS": None,
    "FEA": "Fear",
    "HAP": "Happy",
    "NEU": "Calm",
    "SAD": "Sad",
}
DEFAULT_RAVDESS_MAP = {
    "angry": "Angry",
    "calm": "Calm",
    "disgust": "Disgust",
    "fearful": "Fear",
    "happy": None,
    "neutral": None,
    "sad": None,
    "surprised": "Surprise",
}


def check_emotion_map(mapping, corpus, partition, side):
    """Validate an emotion mapping and complete it (codes left out -> ``None``).

    Arguments
    ---------
    mapping : dict
        Corpus emotion code -> class name or ``None``. CREMA-D codes are
        matched case-insensitively; RAVDESS keys may be names (``calm``) or
        numeric codes (``02``).
    corpus : str
        ``"crema_d"`` or ``"ravdess"``.
    partition : LabelPartition
        The task's partition.
    side : str
        ``"source"`` or ``"target"``: the classes the mapping may produce.

    Example
    -------
    >>> p = emotion_partition()
    >>> m = check_emotion_map({"02": "Calm"}, "ravdess", p, "target")
    >>> m["calm"], m["angry"]
    ('Calm', None)
    >>> check_emotion_map({"DIS": "Disgust"}, "crema_d", p, "source")
    Traceback (most recent call last):
    ...
    ValueError: crema_d emotion 'DIS' maps to 'Disgust', which is target_private: the source may only hold ['Angry', 'Calm', 'Fear', 'Happy', 'Sad']
    """
    if corpus == "crema_d":
        known = {c: c for c in CREMA_EMOTIONS}
        key_of = lambda k: str(k).strip().upper()  # noqa: E731
    elif corpus == "ravdess":
        known = {n: n for n in RAVDESS_EMOTIONS.values()}
        known.update(RAVDESS_EMOTIONS)  # numeric codes -> names
        key_of = lambda k: str(k).strip().lower()  # noqa: E731
    else:
        raise ValueError("unknown corpus %r" % corpus)
    allowed = partition.source_classes if side == "source" else partition.target_classes
    out = {name: None for name in sorted(set(known.values()))}
    for raw_key, value in mapping.items():
        key = key_of(raw_key)
        if key not in known:
            raise ValueError(
                "%s emotion %r is unknown: expected one of %s"
                % (corpus, raw_key, sorted(set(known.values())))
            )
        if value is not None:
            if value not in partition.classes:
                raise ValueError(
                    "%s emotion %r maps to %r, not a class of the partition %s"
                    % (corpus, raw_key, value, partition.classes)
                )
            if value not in allowed:
                raise ValueError(
                    "%s emotion %r maps to %r, which is %s: the %s may only hold %s"
                    % (corpus, raw_key, value, partition.label_set(value), side, allowed)
                )
        out[known[key]] = value
    unmapped = sorted(set(allowed) - {v for v in out.values() if v})
    if unmapped:
        logger.warning("%s: no emotion maps to the %s class(es) %s", corpus, side, unmapped)
    return out


def prepare_emotion(
    crema_folder,
    ravdess_folder,
    save_folder,
    crema_map=None,
    ravdess_map=None,
    partition=None,
    valid_ratio=0.1,
    test_ratio=0.2,
    seed=1234,
):
    """Write the manifests of the CREMA-D -> RAVDESS emotion task.

    Arguments
    ---------
    crema_folder : str
        CREMA-D root (holding ``AudioWAV/`` and ``VideoDemographics.csv``).
    ravdess_folder : str
        RAVDESS root (holding ``Actor_01`` ... ``Actor_24``).
    save_folder : str
        Where the four manifests and ``prepare.json`` are written.
    crema_map, ravdess_map : dict, optional
        Emotion mappings (see the module docstring for the defaults).
    partition : LabelPartition, optional
        Default :func:`emotion_partition` (the paper's).
    valid_ratio : float
        Fraction of CREMA-D actors in ``source_valid``.
    test_ratio : float
        Fraction of RAVDESS actors in ``target_test``.
    seed : int
        Seed of the actor splits.

    Returns
    -------
    dict
        Manifest name -> absolute CSV path.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile as sf
    >>> from data_prep.common import read_manifest
    >>> tmp = tempfile.TemporaryDirectory()
    >>> crema, ravdess = os.path.join(tmp.name, "CREMA-D"), os.path.join(tmp.name, "RAVDESS")
    >>> os.makedirs(os.path.join(crema, "AudioWAV"))
    >>> for name in ("1001_DFA_ANG_XX", "1001_DFA_DIS_XX", "1002_DFA_ANG_XX"):  # DIS: dropped
    ...     sf.write(os.path.join(crema, "AudioWAV", name + ".wav"), np.zeros(160), 16000)
    >>> for actor in ("01", "02"):  # emotion 05: angry
    ...     os.makedirs(os.path.join(ravdess, "Actor_" + actor))
    ...     wav = os.path.join(ravdess, "Actor_" + actor, "03-01-05-01-01-01-%s.wav" % actor)
    ...     sf.write(wav, np.zeros(480), 48000)
    >>> paths = prepare_emotion(crema, ravdess, os.path.join(tmp.name, "manifests"))
    >>> for name in ("source_train", "source_valid", "target_adapt", "target_test"):
    ...     print(name, [(r["label"], r["speaker"], r["duration"]) for r in read_manifest(paths[name])])
    source_train [('Angry', '1002', '0.01')]
    source_valid [('Angry', '1001', '0.01')]
    target_adapt [('Angry', 'Actor_02', '0.01')]
    target_test [('Angry', 'Actor_01', '0.01')]
    >>> tmp.cleanup()
    """
    partition = partition if partition is not None else emotion_partition()
    cmap = check_emotion_map(
        DEFAULT_CREMA_MAP if crema_map is None else crema_map, "crema_d", partition, "source"
    )
    rmap = check_emotion_map(
        DEFAULT_RAVDESS_MAP if ravdess_map is None else ravdess_map, "ravdess", partition, "target"
    )
    crema_folder = os.path.abspath(crema_folder)
    ravdess_folder = os.path.abspath(ravdess_folder)
    args = {
        "task": "emotion",
        "version": 1,
        "crema_folder": crema_folder,
        "ravdess_folder": ravdess_folder,
        "crema_map": cmap,
        "ravdess_map": rmap,
        "partition": partition,
        "valid_ratio": valid_ratio,
        "test_ratio": test_ratio,
        "seed": seed,
    }

    def build():
        """List both corpora, map their emotions, split each by actor into two manifests."""
        crema = list_crema_d(crema_folder)
        ravdess = list_ravdess(ravdess_folder)
        source_items = [(r.path, cmap[r.emotion], "crema_d", r.actor) for r in crema if cmap[r.emotion]]
        target_items = [
            (r.path, rmap[r.emotion], "ravdess", "Actor_" + r.actor) for r in ravdess if rmap[r.emotion]
        ]
        for corpus, recs, mapping in (("CREMA-D", crema, cmap), ("RAVDESS", ravdess, rmap)):
            dropped = count_by([{"e": r.emotion} for r in recs if not mapping[r.emotion]], "e")
            if dropped:
                logger.info("%s: dropped unmapped emotions %s", corpus, dropped)
        check_not_empty(source_items, "source (CREMA-D) data", crema_folder, "check --crema_folder / --crema_map")
        check_not_empty(
            target_items, "target (RAVDESS) data", ravdess_folder, "check --ravdess_folder / --ravdess_map"
        )
        return named_manifests(
            *split_items_by_speaker(source_items, partition, valid_ratio, seed, "CREMA-D actors"),
            *split_items_by_speaker(target_items, partition, test_ratio, seed, "RAVDESS actors"),
        )

    return run_preparation(save_folder, args, build, "emotion crema_d->ravdess")


def main(argv=None):
    """Command line (see the module docstring): prepare the task, print the manifest paths as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crema_folder", required=True, help="CREMA-D root (AudioWAV/ inside)")
    parser.add_argument("--ravdess_folder", required=True, help="RAVDESS root (Actor_XX/ inside)")
    parser.add_argument("--save_folder", required=True)
    parser.add_argument("--crema_map", default=None, help="e.g. ANG=Angry,NEU=Calm,DIS=none")
    parser.add_argument("--ravdess_map", default=None, help="e.g. calm=Calm,happy=none")
    add_split_arguments(parser)
    a = parse_cli_args(parser, argv)
    paths = prepare_emotion(
        a.crema_folder,
        a.ravdess_folder,
        a.save_folder,
        crema_map=parse_mapping(a.crema_map) if a.crema_map else None,
        ravdess_map=parse_mapping(a.ravdess_map) if a.ravdess_map else None,
        **split_options(a),
    )
    print_manifest_paths(paths)


if __name__ == "__main__":
    main()
