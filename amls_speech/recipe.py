"""What every recipe's ``train.py`` does: prepare, load, train, select, test.

A recipe differs from another only in its hparams file (which preparation
function, which data, which networks, which Brain), so the steps live here
once and each ``recipes/<task>/train.py`` calls :func:`main`.
"""

import json
import logging
import os
import tempfile

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main

from amls_speech.data import (
    LabelEncoding,
    ManifestError,
    PairedDataset,
    check_manifest,
    make_dataset,
)

logger = logging.getLogger(__name__)

MANIFESTS = ("source_train", "source_valid", "target_adapt", "target_test")


def manifest_path(hparams, name):
    return os.path.join(hparams["manifest_folder"], name + ".csv")


def label_sets(hparams):
    """Source classes (classifier order) and the shared ones, read from the manifest."""
    rows = check_manifest(manifest_path(hparams, "source_train"))
    classes = sorted({r["label"] for r in rows})
    if len(classes) != hparams["n_classes"]:
        raise ManifestError(
            "%s has %d source classes but the hparams say n_classes: %d; fix one of them"
            % (manifest_path(hparams, "source_train"), len(classes), hparams["n_classes"])
        )
    shared = sorted({r["label"] for r in rows if r["label_set"] == "shared"})
    return classes, shared


def load_datasets(hparams, encoding):
    """The four datasets; ``target_adapt`` carries no label."""
    return {
        name: make_dataset(
            manifest_path(hparams, name),
            hparams["features"],
            None if name == "target_adapt" else encoding,
        )
        for name in MANIFESTS
    }


def write_json_atomic(path, obj):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def build(hparams, run_opts=None):
    """Prepares the manifests (idempotent), loads the four datasets, makes the Brain.

    Adds ``classes`` and ``shared_classes`` (read from the manifests) to ``hparams``.
    """
    run_on_main(hparams["prepare"], kwargs={"save_folder": hparams["manifest_folder"]})
    classes, shared = label_sets(hparams)
    datasets = load_datasets(hparams, LabelEncoding(classes))
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
    train_set = PairedDataset(datasets["source_train"], datasets["target_adapt"], seed=hparams["seed"])
    brain.fit(
        hparams["epoch_counter"],
        train_set,
        datasets["source_valid"],
        train_loader_kwargs=hparams["train_dataloader_opts"],
        valid_loader_kwargs=hparams["test_dataloader_opts"],
    )
    summary = brain.test(datasets["target_test"], datasets["target_adapt"], hparams["test_dataloader_opts"])
    summary["records"] = records_to_lists(brain.test_records)
    summary.update(method=hparams["method"], task=hparams["task"], seed=hparams["seed"],
                   classes=classes, shared_classes=shared)
    if sb.utils.distributed.if_main_process():
        write_json_atomic(os.path.join(hparams["output_folder"], "results.json"), summary)
    return summary


def records_to_lists(records):
    """Per-sample (score, closed-set prediction, truth) lists of the test set."""
    scores, preds, truth = [], [], []
    for s, p, t in records:
        scores += s.tolist() if s is not None else [None] * len(p)
        preds += p.tolist()
        truth += t.tolist()
    return {"score": scores, "closed_prediction": preds, "truth": truth}


def load_hparams(hparams_file, overrides=None):
    with open(hparams_file) as f:
        return load_hyperpyyaml(f, overrides or {})


def main(argv):
    """Entry point of ``recipes/<task>/train.py``: ``train.py hparams/<method>.yaml [--key value ...]``."""
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    sb.utils.distributed.ddp_init_group(run_opts)
    hparams = load_hparams(hparams_file, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    summary = run(hparams, run_opts)
    keys = ("score", "h_score", "accuracy", "shared_accuracy", "unknown_accuracy")
    print(json.dumps({k: summary[k] for k in keys}, indent=2))
