"""What every recipe's ``train.py`` does: prepare, load, train, select, test.

A recipe differs from another only in its hparams file (which preparation
function, which data, which networks, which Brain), so the steps live here
once and each ``recipes/<task>/train.py`` calls :func:`main`.
"""

import json
import logging
import os

import numpy as np
import torch

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml, resolve_references
from speechbrain.utils.distributed import run_on_main

from amls_speech.atomic import write_json_atomic, write_text_atomic
from amls_speech.data import (
    LabelEncoding,
    ManifestError,
    PairedDataset,
    check_label_sets,
    check_manifest,
    make_dataset,
)
from amls_speech.diagnostics import pseudo_label_precision, rejection_rates, shared_mask, signal_aurocs
from amls_speech.hparams_inheritance import read_hparams
from amls_speech.selection import choose_threshold

logger = logging.getLogger(__name__)

MANIFESTS = ("source_train", "source_valid", "target_adapt", "target_test")


def manifest_path(hparams, name):
    """The CSV file of manifest ``name`` (one of :data:`MANIFESTS`) in the hparams' ``manifest_folder``.

    Example
    -------
    >>> manifest_path({"manifest_folder": "manifests"}, "target_test")
    'manifests/target_test.csv'
    """
    return os.path.join(hparams["manifest_folder"], name + ".csv")


def label_sets(hparams, rows=None):
    """The classifier's classes (in output order) and the shared ones, read from the manifest.

    Normally the classes are the source classes. The ``train_on: target``
    oracle learns the shared classes plus one extra output, "unknown", that
    stands for every target-private class. ``rows``: the source_train rows,
    where the caller has checked them already. A class count that differs from
    the hparams' ``n_classes`` raises a :class:`~amls_speech.data.ManifestError`.

    Example
    -------
    >>> rows = [{"label": "no", "label_set": "shared"}, {"label": "up", "label_set": "source_private"}]
    >>> label_sets({"manifest_folder": "m", "n_classes": 2}, rows)
    (['no', 'up'], ['no'])
    >>> label_sets({"manifest_folder": "m", "n_classes": 2, "train_on": "target"}, rows)  # "no" + unknown
    (['no'], ['no'])
    >>> label_sets({"manifest_folder": "m", "n_classes": 3}, rows)
    Traceback (most recent call last):
    ...
    amls_speech.data.ManifestError: m/source_train.csv gives 2 classifier outputs but ... n_classes: 3; ...
    """
    path = manifest_path(hparams, "source_train")
    rows = check_manifest(path) if rows is None else rows
    shared = sorted({r["label"] for r in rows if r["label_set"] == "shared"})
    classes = sorted({r["label"] for r in rows})
    expected = len(classes)
    if hparams.get("train_on", "source") == "target":
        classes, expected = shared, len(shared) + 1
    if expected != hparams["n_classes"]:
        raise ManifestError(
            "%s gives %d classifier outputs but the hparams say n_classes: %d; fix one of them"
            % (path, expected, hparams["n_classes"])
        )
    return classes, shared


def held_out_groups(values, fraction, seed, key="speaker"):
    """A seeded ``fraction`` of the distinct ``values`` (speakers, or image IDs) of a set.

    At least one group is held out, never all; ``key`` names the column in messages.

    Example
    -------
    >>> len(held_out_groups("aabbccdd", 0.25, seed=0))
    1
    >>> len(held_out_groups([str(i) for i in range(10)], 0.2, 0, key="ID"))
    2
    """
    groups = sorted(set(values))
    if len(groups) < 2:
        raise ManifestError("the target adaptation set has %d %s value(s); a held-out calibration "
                            "part needs two or more: set calibration_fraction: 0" % (len(groups), key))
    n = min(len(groups) - 1, max(1, round(fraction * len(groups))))
    order = np.random.default_rng(seed).permutation(len(groups))
    return {groups[i] for i in order[:n]}


def load_datasets(hparams, encoding, rows=None):
    """The datasets of a run; ``target_adapt`` carries no label.

    With ``calibration_fraction`` > 0, a seeded fraction of the adaptation
    set's speakers (``calibration_group``: another manifest column, ``ID``
    for single images) is held out of training as ``target_calibration``
    (unlabelled too): the rejection threshold is then calibrated on clips
    that no network trained on. ``rows``: manifest name -> rows the caller
    has checked already (each manifest is then not read again).

    Example
    -------
    >>> from amls_speech.data import LabelEncoding
    >>> def row(name, k):
    ...     return {"ID": "%s%d" % (name, k), "wav": "%s%d.wav" % (name, k), "label": "no",
    ...             "label_set": "shared", "domain": "d", "speaker": "s%d" % k, "duration": "1.0"}
    >>> rows = {name: [row(name, k) for k in range(4)] for name in MANIFESTS}
    >>> hparams = {"manifest_folder": "m", "features": lambda wav: "features of " + wav, "seed": 0}
    >>> sets = load_datasets(hparams, LabelEncoding(["no"]), rows)
    >>> sorted(sets)
    ['source_train', 'source_valid', 'target_adapt', 'target_test']
    >>> sets["target_test"][0]
    {'id': 'target_test0', 'feats': 'features of target_test0.wav', 'label_id': tensor([0])}
    >>> sets["target_adapt"][0]  # no label
    {'id': 'target_adapt0', 'feats': 'features of target_adapt0.wav'}
    >>> sets = load_datasets(dict(hparams, calibration_fraction=0.25), LabelEncoding(["no"]), rows)
    >>> len(sets["target_adapt"]), len(sets["target_calibration"])  # one of the four speakers held out
    (3, 1)
    """
    sets = {}
    for name in MANIFESTS:
        hidden = name == "target_adapt" and hparams.get("train_on", "source") != "target"
        sets[name] = make_dataset(manifest_path(hparams, name), hparams["features"],
                                  None if hidden else encoding, (rows or {}).get(name))
    fraction = hparams.get("calibration_fraction", 0.0)
    if fraction:
        adapt, key = sets["target_adapt"], hparams.get("calibration_group", "speaker")
        values = adapt.data_ids if key == "ID" else [adapt.data[i][key] for i in adapt.data_ids]
        held = held_out_groups(values, fraction, hparams["seed"], key)
        item = "id" if key == "ID" else key  # the dataset calls the ID column "id"
        sets["target_calibration"] = adapt.filtered_sorted(key_test={item: lambda s: s in held})
        sets["target_adapt"] = adapt.filtered_sorted(key_test={item: lambda s: s not in held})
    return sets


def build(hparams, run_opts=None):
    """Prepares the manifests (idempotent), loads the four datasets, makes the Brain.

    Adds ``classes`` and ``shared_classes`` (read from the manifests) to ``hparams``.

    Example
    -------
    >>> import tempfile
    >>> def prepare(save_folder):  # a recipe's writes the manifests of its corpus; here, of one empty clip
    ...     wav = os.path.join(save_folder, "clip.wav")
    ...     open(wav, "w").close()
    ...     labels = {"source": [("a", "shared"), ("b", "source_private")],
    ...               "target": [("a", "shared"), ("c", "target_private")]}
    ...     for name in MANIFESTS:
    ...         rows = ["%s%d,%s,1.0,%s,%s,d,s%d" % (name, k, wav, label, label_set, k)
    ...                 for k, (label, label_set) in enumerate(labels[name.split("_")[0]])]
    ...         with open(os.path.join(save_folder, name + ".csv"), "w") as f:
    ...             _ = f.write("\\n".join(["ID,wav,duration,label,label_set,domain,speaker"] + rows) + "\\n")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     hparams = {"prepare": prepare, "manifest_folder": folder, "n_classes": 2,
    ...                "features": lambda wav: torch.zeros(3), "brain_class": sb.Brain,
    ...                "modules": {"classifier": torch.nn.Linear(3, 2)}, "opt_class": None,
    ...                "checkpointer": None}
    ...     brain, datasets = build(hparams)
    ...     item = datasets["target_test"][1]
    >>> type(brain).__name__, hparams["classes"], hparams["shared_classes"], sorted(datasets)[2:]
    ('Brain', ['a', 'b'], ['a'], ['target_adapt', 'target_test'])
    >>> item["label_id"]  # the target-private clip: "unknown", index 2
    tensor([2])
    """
    run_on_main(hparams["prepare"], kwargs={"save_folder": hparams["manifest_folder"]})
    partition = getattr(hparams["prepare"], "keywords", {}).get("partition")  # where the hparams give one
    rows = {name: check_manifest(manifest_path(hparams, name)) for name in MANIFESTS}  # read once
    check_label_sets({manifest_path(hparams, name): r for name, r in rows.items()}, partition)
    classes, shared = label_sets(hparams, rows["source_train"])
    datasets = load_datasets(hparams, LabelEncoding(classes), rows)
    hparams.update(classes=classes, shared_classes=shared)
    brain = hparams["brain_class"](
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts or {},
        checkpointer=hparams["checkpointer"],
    )
    return brain, datasets


def run(hparams, run_opts=None):
    """Prepares the data, trains ``hparams['brain_class']``, tests it; returns the summary.

    The summary (also written to ``<output_folder>/results.json``) holds the
    scores of :class:`~amls_speech.metrics.OpenSetStats`, the threshold, the
    selection rules, and the rejection scores of the test set for oracle
    analyses.
    """
    brain, datasets = build(hparams, run_opts)
    classes, shared = hparams["classes"], hparams["shared_classes"]
    calibration = calibration_set(hparams, datasets)
    if hparams.get("train_on", "source") == "target":  # the oracle: labelled target data
        source, valid = datasets["target_adapt"], held_out_clips(datasets)
    else:
        source, valid = datasets["source_train"], datasets["source_valid"]
    train_set = PairedDataset(source, datasets["target_adapt"], seed=hparams["seed"])
    brain.fit(
        hparams["epoch_counter"],
        train_set,
        valid,
        train_loader_kwargs=hparams["train_dataloader_opts"],
        valid_loader_kwargs=hparams["test_dataloader_opts"],
    )
    summary = brain.test(datasets["target_test"], calibration, hparams["test_dataloader_opts"])
    summary["records"] = records_to_lists(brain.test_records)
    # threads: float sums depend on them, so one seed's run differs between thread counts
    summary.update(method=hparams["method"], task=hparams["task"], seed=hparams["seed"],
                   classes=classes, shared_classes=shared, threads=torch.get_num_threads())
    summary["diagnostics"] = diagnose(brain, summary, datasets)
    if brain.open_set:
        summary["calibration_clips"] = hparams.get("calibration_clips", "held_out")
        summary["threshold_alternatives"] = threshold_alternatives(brain, hparams, datasets)
    alternatives = brain.selection_rules()[1:]
    if alternatives:  # last: each loads another checkpoint
        summary["selection_alternatives"] = selection_alternatives(brain, alternatives, datasets,
                                                                   calibration, hparams)
    if sb.utils.distributed.if_main_process():
        write_json_atomic(os.path.join(hparams["output_folder"], "results.json"), summary)
    return summary


CALIBRATION_CLIPS = ("held_out", "training")


def held_out_clips(datasets):
    """The adaptation speakers held out of training (``target_calibration``), else the whole adaptation set.

    Example
    -------
    >>> held_out_clips({"target_adapt": "trained on", "target_calibration": "held out"})
    'held out'
    """
    return datasets.get("target_calibration", datasets["target_adapt"])


def calibration_set(hparams, datasets):
    """The unlabelled clips the rejection threshold is calibrated on (``calibration_clips``).

    ``held_out`` (the default): the adaptation speakers held out of training
    (``target_calibration``, when ``calibration_fraction`` > 0; otherwise the
    whole adaptation set); ``training``: the adaptation clips the networks
    trained on. Neither reads a label.

    Example
    -------
    >>> sets = {"target_adapt": "trained on", "target_calibration": "held out"}
    >>> calibration_set({}, sets), calibration_set({"calibration_clips": "training"}, sets)
    ('held out', 'trained on')
    >>> calibration_set({}, {"target_adapt": "trained on"})  # calibration_fraction: 0
    'trained on'
    >>> calibration_set({"calibration_clips": "test"}, sets)
    Traceback (most recent call last):
    ...
    ValueError: calibration_clips must be one of ('held_out', 'training'), got 'test'
    """
    clips = hparams.get("calibration_clips", "held_out")
    if clips not in CALIBRATION_CLIPS:
        raise ValueError("calibration_clips must be one of %s, got %r" % (CALIBRATION_CLIPS, clips))
    return datasets["target_adapt"] if clips == "training" else held_out_clips(datasets)


def threshold_alternatives(brain, hparams, datasets):
    """Rejection thresholds of other calibrations, for ablations (the report scores them from the records).

    ``fixed``: the hparams' constant; ``otsu``: Otsu's split on the held-out
    adaptation speakers (the whole adaptation set when ``calibration_fraction``
    is 0); ``otsu_training_clips``: Otsu's split on the adaptation clips the
    networks trained on. The run's own calibration is one of them, and its
    scores (``brain.calibrate`` keeps them) are not computed again.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> scores = {"held out": [0.1, 0.2, 0.8, 0.9], "trained on": [0.3, 0.35, 0.65, 0.7]}
    >>> brain = SimpleNamespace(calibration_scores=scores["held out"],  # the run's own calibration
    ...                         collect_scores=lambda dataset, opts: scores[dataset])
    >>> sets = {"target_adapt": "trained on", "target_calibration": "held out"}
    >>> out = threshold_alternatives(brain, {"threshold": 0.5, "test_dataloader_opts": {}}, sets)
    >>> {k: round(v, 2) for k, v in out.items()}  # each Otsu cut splits its set's low and high scores
    {'fixed': 0.5, 'otsu': 0.21, 'otsu_training_clips': 0.36}
    """
    own = calibration_set(hparams, datasets)

    def otsu_on(dataset):
        """Otsu's threshold on ``dataset``'s scores (the run's own calibration scores where it is ``own``)."""
        scores = brain.calibration_scores if dataset is own else \
            brain.collect_scores(dataset, hparams["test_dataloader_opts"])
        return choose_threshold("otsu", scores)

    out = {"fixed": hparams.get("threshold"),
           "otsu": otsu_on(held_out_clips(datasets))}
    if "target_calibration" in datasets:
        out["otsu_training_clips"] = otsu_on(datasets["target_adapt"])
    return out


def selection_alternatives(brain, rules, datasets, calibration, hparams):
    """Test scores of the checkpoints other label-free selection rules pick, for comparison.

    Each rule's checkpoint is recovered, calibrated on the same clips and
    scored on the whole test set, as the run's own was (``brain.test``).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> def test(dataset, calibration, opts, rule):  # stands in for AdaptationBrain.test
    ...     epoch = {"source_domain": 3, "target_entropy": 5}[rule]
    ...     return dict(score=0.1 * epoch, h_score=0.0, accuracy=0.5, shared_accuracy=0.5,
    ...                 unknown_accuracy=0.0, selected_epoch=epoch, threshold=0.2)
    >>> out = selection_alternatives(SimpleNamespace(test=test), ["source_domain", "target_entropy"],
    ...                              {"target_test": "test set"}, "calibration", {"test_dataloader_opts": {}})
    >>> {rule: (res["selected_epoch"], round(res["score"], 2)) for rule, res in out.items()}
    {'source_domain': (3, 0.3), 'target_entropy': (5, 0.5)}
    >>> "threshold" in out["source_domain"]
    False
    """
    keys = ("score", "h_score", "accuracy", "shared_accuracy", "unknown_accuracy", "selected_epoch")
    out = {}
    for rule in rules:
        summary = brain.test(datasets["target_test"], calibration, hparams["test_dataloader_opts"], rule)
        out[rule] = {k: summary[k] for k in keys}
    return out


def records_to_lists(records):
    """Per-sample (score, closed-set prediction, truth, rejection signals) lists of the test set.

    ``records``: one ``(scores, predictions, truth, signals)`` tuple of tensors
    per test batch (``scores`` None for a closed-set method); the signals are
    rounded to 5 digits.

    Example
    -------
    >>> open_set = (torch.tensor([0.5, 0.25]), torch.tensor([0, 1]), torch.tensor([0, 2]),
    ...             {"margin": torch.tensor([0.123456, 0.5])})
    >>> closed_set = (None, torch.tensor([1]), torch.tensor([1]), {})
    >>> lists = records_to_lists([open_set, closed_set])
    >>> lists["score"], lists["closed_prediction"], lists["truth"], lists["signals"]
    ([0.5, 0.25, None], [0, 1, 1], [0, 2, 1], {'margin': [0.12346, 0.5]})
    """
    scores, preds, truth, signals = [], [], [], {}
    for s, p, t, sig in records:
        scores += s.tolist() if s is not None else [None] * len(p)
        preds += p.tolist()
        truth += t.tolist()
        for name, values in sig.items():
            signals.setdefault(name, []).extend(round(v, 5) for v in values.tolist())
    return {"score": scores, "closed_prediction": preds, "truth": truth, "signals": signals}


def diagnose(brain, summary, datasets):
    """What the target labels say about the run's label-free quantities (reporting only).

    The AUROC of every rejection signal; for an open-set run, the shares of
    shared and private test clips rejected; the brain's own
    ``label_diagnostics``; AMLS's pseudo-label precision per epoch.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> summary = {"classes": ["a", "b"], "shared_classes": ["a"], "threshold": 0.5,
    ...            "records": {"score": [0.9, 0.6, 0.1], "truth": [0, 0, 2],
    ...                        "signals": {"margin": [0.8, 0.2, 0.4]}}}
    >>> out = diagnose(SimpleNamespace(), summary, {})
    >>> out["signal_auroc"], out["shared_rejected"], out["private_rejected"]
    ({'margin': 0.5}, 0.0, 1.0)
    """
    rec = summary["records"]
    is_shared = shared_mask(summary)
    out = {"note": "uses target labels, for reporting only",
           "signal_auroc": signal_aurocs(rec["signals"], is_shared)}
    if rec["score"] and rec["score"][0] is not None:
        rejected = [s < summary["threshold"] for s in rec["score"]]
        out.update(rejection_rates(rejected, is_shared))
    out.update(getattr(brain, "label_diagnostics", {}))  # a brain's own, e.g. DeepClustering's refit k-means
    log = getattr(brain, "pseudo_log", None)
    if log is not None and log.epochs:
        adapt = datasets["target_adapt"]
        truth = {i: adapt.data[i]["label"] for i in adapt.data_ids}
        out["pseudo_labels"] = pseudo_label_precision(log.epochs, truth, summary["classes"])
    return out


def load_hparams(hparams_file, overrides=None):
    """hyperpyyaml's load of ``hparams_file``, ``extends`` applied (:mod:`amls_speech.hparams_inheritance`).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with open(os.path.join(folder, "base.yaml"), "w") as f:
    ...         _ = f.write("seed: 0\\nlr: 0.1\\nout: !ref results/<seed>\\n")
    ...     with open(os.path.join(folder, "child.yaml"), "w") as f:
    ...         _ = f.write("extends: base.yaml\\nlr: 0.01\\n")
    ...     hparams = load_hparams(os.path.join(folder, "child.yaml"), {"seed": 3})
    >>> hparams["lr"], hparams["out"]
    (0.01, 'results/3')
    """
    return load_hyperpyyaml(read_hparams(hparams_file), overrides or {})


def save_hparams(hparams_file, overrides, folder):
    """Writes ``<folder>/hyperparams.yaml``: the file with ``overrides`` applied, references resolved.

    The same file SpeechBrain's ``create_experiment_directory`` writes (without
    its logging set-up); :mod:`amls_speech.inference` loads a finished run from it.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "run.yaml")
    ...     with open(path, "w") as f:
    ...         _ = f.write("seed: 0\\nout: !ref results/<seed>\\n")
    ...     save_hparams(path, {"seed": 3}, folder)
    ...     lines = open(os.path.join(folder, "hyperparams.yaml")).read().splitlines()
    >>> lines[0].endswith('run.yaml with overrides {"seed": 3}'), lines[2:]
    (True, ['seed: 3', 'out: results/3'])
    """
    resolved = resolve_references(read_hparams(hparams_file), overrides or {}).getvalue()
    header = "# Generated from %s with overrides %s\n# yamllint disable\n" % (
        os.path.abspath(hparams_file), json.dumps(overrides or {}, sort_keys=True, default=str))
    write_text_atomic(os.path.join(folder, "hyperparams.yaml"), header + resolved)


def run_recipe(hparams_file, overrides=None, run_opts=None, log_to_folder=False):
    """Loads ``hparams_file`` with ``overrides``, keeps the resolved hparams in the run's folder, runs it.

    ``log_to_folder``: SpeechBrain's experiment directory and logging set-up
    first (the command line's way); its copy of the hparams file is not
    asked for, since it would lack what the file extends.
    """
    hparams = load_hparams(hparams_file, overrides)
    if log_to_folder:
        sb.create_experiment_directory(experiment_directory=hparams["output_folder"])
    if sb.utils.distributed.if_main_process():
        save_hparams(hparams_file, overrides, hparams["output_folder"])
    return run(hparams, run_opts)


def leave_process_group():
    """Wait for every process, then leave the ``torchrun`` group (no-op in a single process).

    A process that exits with a gloo group still open can abort in its
    teardown ("terminate called without an active exception"), failing a
    run that had finished: every distributed entry point ends here.

    Example
    -------
    >>> leave_process_group()  # not launched by torchrun: nothing to leave
    """
    if sb.utils.distributed.is_distributed_initialized():
        sb.utils.distributed.ddp_barrier()  # NCCL's barrier needs the device: SpeechBrain's passes it
        torch.distributed.destroy_process_group()


def main(argv):
    """Entry point of ``recipes/<task>/train.py``: ``train.py hparams/<method>.yaml [--key value ...]``."""
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    sb.utils.distributed.ddp_init_group(run_opts)
    summary = run_recipe(hparams_file, overrides, run_opts, log_to_folder=True)
    keys = ("score", "h_score", "accuracy", "shared_accuracy", "unknown_accuracy")
    if sb.utils.distributed.if_main_process():  # every process tests the same model: print once
        print(json.dumps({k: summary[k] for k in keys}, indent=2))
    leave_process_group()
