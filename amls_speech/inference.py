"""Use an adapted model: classify new recordings, or say "unknown".

:class:`AdaptedClassifier` loads a finished run from its folder (the
``output_folder`` of a recipe or ``amls-bench`` run) with everything the test
used: the resolved ``hyperparams.yaml``, the checkpoint that the run's
``checkpoint_selection`` picked, its feature pipeline and input normalisation,
and the rejection threshold calibrated on the unlabelled adaptation set
(``results.json``). It runs the same Brain methods as the test
(``compute_forward`` and ``predict``), so a file gets the label the test gave it.

``amls-predict RUN_FOLDER FILE_OR_FOLDER... [--csv out.csv]`` is its command line.

Loading runs the hparams file, which is code (hyperpyyaml can import and call),
and unpickles the checkpoint: load only runs you made or trust.
"""

import argparse
import csv
import json
import logging
import sys
from pathlib import Path

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.batch import PaddedBatch
from tqdm import tqdm

from amls_speech.logs import quiet
from amls_speech.audio import read_waveform
from amls_speech.brains.base import SELECTION_KEYS
from amls_speech.data import LabelEncoding

logger = logging.getLogger(__name__)
UNKNOWN = "unknown"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
# hparams objects that only training uses: not built at inference (the
# checkpointer would create folders at the training-time paths)
TRAINING_ONLY = {"checkpointer": None, "train_logger": None}


class RunFolderError(ValueError):
    """A folder that cannot be loaded as a finished run; the message says what to do."""


class AdaptedClassifier:
    """A trained run's model, threshold and feature pipeline, for new audio.

    Build it with :meth:`from_run`. Predictions are ``(probabilities, score,
    index, labels)`` like SpeechBrain's ``EncoderClassifier.classify_batch``:
    the class probabilities over the source classes, the rejection score
    (higher = more like a shared class; ``None`` for a closed-set method), the
    predicted index (``len(classes)`` = unknown) and the label names.

    Arguments
    ---------
    brain : amls_speech.brains.AdaptationBrain
        The run's Brain with its selected checkpoint loaded.
    features : amls_speech.features.FeaturePipeline
        The run's waveform -> MFCC pipeline (only its ``from_waveform``, which has no cache, is used).
    threshold : float or None
        The run's calibrated rejection threshold (None: closed set).

    Example
    -------
    >>> from amls_speech.brains import AMLS
    >>> from amls_speech.brains.testing import tiny_brain
    >>> from amls_speech.features import FeaturePipeline, MFCCFeatures
    >>> brain, _ = tiny_brain(AMLS, n_classes=2, frames=101, coeffs=40, classes=["no", "yes"])
    >>> model = AdaptedClassifier(brain, FeaturePipeline(MFCCFeatures(), seconds=1.0), threshold=-1.0)
    >>> probs, score, index, labels = model.classify_batch(torch.randn(3, 16000))
    >>> tuple(probs.shape), [label in ("no", "yes") for label in labels]  # every score is above -1
    ((3, 2), [True, True, True])
    >>> model.brain.threshold = 2.0  # above every score: all rejected
    >>> model.classify_batch(torch.randn(3, 16000))[3]
    ['unknown', 'unknown', 'unknown']
    """

    def __init__(self, brain, features, threshold=None):
        self.brain = brain
        self.features = features  # used through from_waveform only: the training cache is never touched
        self.encoding = LabelEncoding(list(brain.hparams.classes))
        self.brain.threshold = float("-inf") if threshold is None else float(threshold)
        self.open_set = threshold is not None
        self.brain.modules.eval()

    @classmethod
    def from_run(cls, run_folder, device="cpu"):
        """Loads the finished run in ``run_folder`` (``hyperparams.yaml``, ``results.json``, ``save/``)."""
        folder = Path(run_folder)
        results = read_results(folder)
        hparams_path = folder / "hyperparams.yaml"
        if not hparams_path.is_file():
            raise RunFolderError(
                "%s has no hyperparams.yaml: runs made with amls-bench or train.py since it writes "
                "one can be loaded; re-run this one (the same command resumes from its checkpoint "
                "folder only if the checkpoints exist)" % folder)
        with open(hparams_path) as f:
            hparams = load_hyperpyyaml(f, TRAINING_ONLY)
        hparams.update(classes=results["classes"], shared_classes=results["shared_classes"],
                       checkpoint_selection=results["checkpoint_selection"])
        modules = hparams["modules"]
        checkpointer = sb.utils.checkpoints.Checkpointer(folder / "save", recoverables=modules)
        if checkpointer.find_checkpoint() is None:
            raise RunFolderError("%s holds no checkpoint: the run did not finish training, or its "
                                 "save/ folder was removed; train it again" % (folder / "save"))
        brain = hparams["brain_class"](modules=modules, hparams=hparams, run_opts={"device": device},
                                       checkpointer=checkpointer)
        try:
            checkpointer.recover_if_possible(max_key=SELECTION_KEYS[results["checkpoint_selection"]])
        except RuntimeError as err:
            raise RunFolderError(
                "the checkpoint in %s does not fit %s (another partition or network was trained "
                "there): %s" % (folder / "save", hparams_path, str(err).splitlines()[0])) from err
        return cls(brain, hparams["features"], results["threshold"] if brain.open_set else None)

    @property
    def classes(self):
        """The source classes, in the classifier's output order (``unknown`` is not one)."""
        return list(self.brain.hparams.classes)

    def load_audio(self, path):
        """The waveform of ``path`` at the model's rate (resampled if the run's features allow it)."""
        return read_waveform(str(path), self.features.sample_rate, self.features.resample)

    @torch.no_grad()
    def classify_batch(self, wavs, wav_lens=None):
        """Classifies a ``(batch, samples)`` tensor at the model's sample rate.

        ``wav_lens`` are relative lengths (SpeechBrain's convention); each
        waveform is cut to its length, then cropped or padded as in training.
        """
        wavs = torch.as_tensor(wavs, dtype=torch.float32)
        if wavs.dim() == 1:
            wavs = wavs.unsqueeze(0)
        lens = torch.ones(len(wavs)) if wav_lens is None else torch.as_tensor(wav_lens, dtype=torch.float32)
        items = [{"id": str(i), "feats": self.features.from_waveform(w[: max(1, int(round(float(n) * len(w))))])}
                 for i, (w, n) in enumerate(zip(wavs, lens))]
        return self.classify_features(PaddedBatch(items))

    @torch.no_grad()
    def classify_features(self, batch):
        """Classifies a ``PaddedBatch`` with ``feats`` (what the test loader gives the Brain)."""
        out = self.brain.compute_forward(batch, sb.Stage.TEST)
        index, score = self.brain.predict(out)
        probs = out["logits"].float().softmax(-1).cpu()
        index = index.cpu()
        return probs, score, index, [self.encoding.decode(int(i)) for i in index]

    def classify_file(self, path):
        """Classifies one audio file; returns ``(probabilities, score, index, label)`` of that file."""
        probs, score, index, labels = self.classify_batch(self.load_audio(path))
        return probs[0], None if score is None else float(score[0]), int(index[0]), labels[0]

    def classify_files(self, paths, batch_size=64, progress=False):
        """Yields ``(path, label, score, error)`` per file; an unreadable file gets its error, the rest go on."""
        paths = list(paths)
        bar = tqdm(total=len(paths), unit="file", disable=not progress)
        for start in range(0, len(paths), batch_size):
            chunk, items = paths[start:start + batch_size], []
            errors = {}
            for path in chunk:
                try:
                    items.append({"id": str(path), "feats": self.features.from_waveform(self.load_audio(path))})
                except Exception as err:  # noqa: BLE001 -- any unreadable file: name it, go on
                    errors[str(path)] = "%s: %s" % (type(err).__name__, err)
            results = {}
            if items:
                _, score, _, labels = self.classify_features(PaddedBatch(items))
                for k, item in enumerate(items):
                    results[item["id"]] = (labels[k], None if score is None else float(score[k]))
            for path in chunk:
                if str(path) in errors:
                    yield str(path), None, None, errors[str(path)]
                else:
                    yield (str(path),) + results[str(path)] + (None,)
            bar.update(len(chunk))
        bar.close()


def read_results(folder):
    """The ``results.json`` of a finished run, or a :class:`RunFolderError` that says what is missing.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     try:
    ...         read_results(folder)
    ...     except RunFolderError as err:
    ...         print(str(err).replace(folder, "RUN"))
    ...     results = {"classes": ["no", "yes"], "shared_classes": ["yes"], "checkpoint_selection": "last",
    ...                "threshold": 0.25}
    ...     _ = (Path(folder) / "results.json").write_text(json.dumps(results))
    ...     read_results(folder)["threshold"]
    RUN is not a finished run: it has no results.json (a run writes it after testing). ...
    0.25
    """
    path = Path(folder) / "results.json"
    if not Path(folder).is_dir():
        raise RunFolderError("%s is not a folder: give the output folder of a run "
                             "(e.g. results/demo/runs/gender/M2F/shared10/amls/seed0)" % folder)
    if not path.is_file():
        raise RunFolderError("%s is not a finished run: it has no results.json (a run writes it after "
                             "testing). Finish the run (the same command resumes it) or pick the folder "
                             "of one that finished" % folder)
    with open(path) as f:
        results = json.load(f)
    missing = [k for k in ("classes", "shared_classes", "checkpoint_selection", "threshold") if k not in results]
    if missing:
        raise RunFolderError("%s lacks %s: it was written by another tool or an older version; "
                             "re-run the recipe" % (path, ", ".join(missing)))
    return results


def audio_files(inputs):
    """Audio files among ``inputs`` (files as given; folders searched recursively, sorted).

    A folder contributes the files with a suffix of :data:`AUDIO_SUFFIXES`
    (any case); a file is kept as given, even a missing one (reported later).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for name in ("b.wav", "a/c.FLAC", "a/notes.txt"):
    ...         (Path(folder) / name).parent.mkdir(exist_ok=True)
    ...         (Path(folder) / name).touch()
    ...     found = audio_files([folder, "missing.wav"])
    ...     [p.relative_to(folder).as_posix() for p in found[:-1]], str(found[-1])
    (['a/c.FLAC', 'b.wav'], 'missing.wav')
    """
    files = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += sorted(p for p in item.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        else:
            files.append(item)  # a missing file is reported with the others, by name
    return files


def main(argv=None):
    """``amls-predict RUN_FOLDER FILE_OR_FOLDER... [--csv OUT.csv]``: one row per file.

    Prints ``path,label,score`` (``label`` is a source class or ``unknown``;
    ``score`` the rejection score, empty for closed-set methods). Files that
    cannot be read are named on stderr, the others are still classified, and
    the exit status is then 1.
    """
    p = argparse.ArgumentParser(prog="amls-predict", description=main.__doc__)
    p.add_argument("run_folder", help="output folder of a finished run (holds results.json and save/)")
    p.add_argument("inputs", nargs="+", help="audio files or folders of them")
    p.add_argument("--csv", help="write the rows to this CSV file instead of printing them")
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    quiet()
    try:
        model = AdaptedClassifier.from_run(args.run_folder, args.device)
    except RunFolderError as err:
        raise SystemExit("amls-predict: %s" % err)
    quiet()  # the loggers the hparams' imports created
    files = audio_files(args.inputs)
    if not files:
        raise SystemExit("amls-predict: no audio file (%s) in %s" % ("/".join(AUDIO_SUFFIXES), " ".join(args.inputs)))
    rows, failed = [], 0
    for path, label, score, error in model.classify_files(files, args.batch_size, progress=len(files) > 1):
        if error:
            failed += 1
            print("amls-predict: cannot classify %s (%s)" % (path, error), file=sys.stderr)
            label = "error"
        rows.append({"path": path, "label": label, "score": "" if score is None else "%.6f" % score})
    if args.csv:
        from amls_speech.atomic import atomic_write

        def write(f):
            """Writes the header and the rows to the CSV file ``f``."""
            writer = csv.DictWriter(f, fieldnames=["path", "label", "score"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

        atomic_write(args.csv, write)
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=["path", "label", "score"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    if failed:
        print("amls-predict: %d of %d file(s) could not be classified" % (failed, len(rows)), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
