"""Partial domain adaptation (source digits 0-9, target 0-4): PADA and ISRA end to end on tiny data.

The corpus: the embedded ``uci`` (small sizes) as the target and, as the
source, a fake ``mnist`` folder written by the test from the same sklearn
digits at lower contrast: a shift small enough that a model trained on the
source reads the target, so that the target's class mix (0-4) is visible in
PADA's weights. (The inverted-grey corpus of tests/test_recipes_digits.py
is too far for that: every method scores about 0.1 on its target.)
"""

import functools
import re

import numpy as np
import pytest
import speechbrain as sb
import torch
from sklearn.datasets import load_digits

from amls_speech import report
from amls_speech.brains import ISRA
from amls_speech.brains.testing import tiny_brain
from amls_speech.recipe import run_recipe
from amls_speech.synth.digits import frame_uci
from data_prep.digits import write_domain
from data_prep.synth_digits import generate_digits

TASK = "MN2UC-pda"


@pytest.fixture(scope="module")
def near_digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("near_digits")
    generate_digits(root, domains=("uci",), uci_sizes=(400, 100, 300))
    digits = load_digits()
    images = (0.6 * frame_uci(digits.images) + 40).astype(np.uint8)  # lower contrast, lighter ink
    order = np.random.default_rng(1).permutation(len(images))
    cut = {"train": order[:600], "valid": order[600:700], "test": order[700:800]}
    write_domain(root / "mnist", {s: (images[i], digits.target[i]) for s, i in cut.items()},
                 {"test": "low-contrast uci"}, "TEST corpus: sklearn digits at lower contrast")
    return root


def train(corpus, tmp_path, recipe, epochs, run_opts=None, **over):
    over = {"task": TASK, "data_folder": str(corpus), "results_root": str(tmp_path / "runs"),
            "number_of_epochs": epochs, "batch_size": 32, "selection_alternatives": [], **over}
    return run_recipe("recipes/digits/hparams/%s.yaml" % recipe, over, {"noprogressbar": True, **(run_opts or {})})


@pytest.fixture(scope="module")
def source_model(near_digits, tmp_path_factory):
    """The source-only run every adversarial method of a partial task starts from (``warm_start``)."""
    root = tmp_path_factory.mktemp("source")
    train(near_digits, root, "source_only", 3)
    return str(root / "runs" / TASK / "source_only" / "seed0" / "save")


def log_values(tmp_path, method, key):
    log = (tmp_path / "runs" / TASK / method / "seed0" / "train_log.txt").read_text()
    return [float(v.rstrip(",")) for v in re.findall(r"%s: ([0-9.e+-]+,?)" % key, log)]


def test_pada_learns_the_source_and_weights_the_target_classes_up(near_digits, source_model, tmp_path):
    summary = train(near_digits, tmp_path, "pada", 4, checkpoint_selection="target_entropy",
                    warm_start_folder=source_model)
    manifests = tmp_path / "runs" / TASK / "manifests"
    target = {line.split(",")[2] for line in (manifests / "target_adapt.csv").read_text().splitlines()[1:]}
    assert target == set("01234") and summary["classes"] == list("0123456789")
    accuracy = log_values(tmp_path, "pada", "source_acc")
    assert accuracy[0] > 0.6  # warm start: it begins from the trained source-only model
    # source validation holds all ten digits; the five the target lacks weigh little, so
    # PADA keeps them less well (0.1 by chance)
    assert accuracy[-1] > 0.4
    assert summary["accuracy"] > 0.7  # target test: digits 0-4 only; a 10-way guess scores 0.1
    # gamma of the last epoch, from the trained model's target predictions: the five
    # digits the target holds weigh more than the five it does not
    brain_weights = torch.load(next((tmp_path / "runs" / TASK / "pada" / "seed0" / "save").glob(
        "CKPT+*/training_state.ckpt")), weights_only=False)["brain"]["class_weights"]
    assert brain_weights[:5].mean() > brain_weights[5:].mean()
    # minimum target entropy picked the epoch of highest certainty
    certainty = log_values(tmp_path, "pada", "target_certainty")
    assert len(certainty) == 4 and summary["selected_epoch"] == int(np.argmax(certainty)) + 1


def test_isra_trains_its_receptors_and_aligns(near_digits, source_model, tmp_path):
    train(near_digits, tmp_path, "isra", 3, warm_start_folder=source_model)
    receptors = log_values(tmp_path, "isra", "receptors")
    assert receptors[-1] < receptors[0]  # the receptors learn to regress their topics
    assert all(len(log_values(tmp_path, "isra", k)) == 3 for k in ("train align", "train c2v", "train domain"))


def test_isra_terms_reach_only_their_own_parameters():
    brain, batch = tiny_brain(ISRA)
    terms = brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch)
    grads = {}
    for name in ("receptors", "align", "c2v"):
        brain.modules.zero_grad(set_to_none=True)
        terms[name].backward(retain_graph=True)
        grads[name] = {m for m, mod in brain.modules.items()
                       if any(p.grad is not None and p.grad.abs().sum() > 0 for p in mod.parameters())}
    assert grads["receptors"] == {"receptors"}  # L_reg: detached inputs and codes
    assert grads["align"] == {"extractor"}  # L_a: through X only; the attention is a constant
    assert grads["c2v"] == {"extractor", "class2vec"}


def test_partial_records_get_their_own_table():
    recs = [{"task": TASK, "method": m, "seed": 0, "accuracy": a, "classes": list("0123456789"),
             "shared_classes": list("01234"), "diagnostics": {"signal_auroc": {"margin": float("nan")}}}
            for m, a in (("source_only", .4), ("pada", .6), ("oracle", .9))]
    text = report.tables(recs)
    assert "ISRA paper's Table 2 layout" in text and "| PADA | last | 60.0 ± 0.0 (40%) |" in text
    assert "H-score" not in text and "Diagnostics" not in text  # not the open-set tables


class Killed(Exception):
    """Stands in for a signal: raised inside a training step."""


def test_isra_killed_mid_epoch_resumes_to_the_same_result(near_digits, source_model, tmp_path, monkeypatch):
    """PADA's class weights of the epoch and ISRA's second optimizer survive an intra-epoch checkpoint."""
    opts = {"ckpt_interval_steps": 4}  # a step is 64 + 64 images here: 9 steps an epoch
    train = functools.partial(globals()["train"], warm_start_folder=source_model, batch_size=64)
    straight = train(near_digits, tmp_path / "straight", "isra", 2, opts)
    fit_batch = ISRA.fit_batch

    def dying(self, batch):
        if (self.epoch, self.step) == (2, 6):  # epoch 2 (gamma refreshed from the model), after a save
            raise Killed()
        return fit_batch(self, batch)

    monkeypatch.setattr(ISRA, "fit_batch", dying)
    with pytest.raises(Killed):
        train(near_digits, tmp_path / "killed", "isra", 2, opts)
    monkeypatch.undo()
    resumed = train(near_digits, tmp_path / "killed", "isra", 2, opts)
    assert resumed["records"]["closed_prediction"] == straight["records"]["closed_prediction"]
    assert resumed["accuracy"] == straight["accuracy"]


def test_ba3us_and_isra_on_it_train_through_the_runner(near_digits, source_model, tmp_path):
    summary = train(near_digits, tmp_path, "ba3us", 3, warm_start_folder=source_model)
    assert summary["method"] == "ba3us" and summary["accuracy"] > 0.7  # 0-4 only; a guess scores 0.1
    assert all(len(log_values(tmp_path, "ba3us", "train %s" % k)) == 3 for k in ("complement", "entropy"))
    assert max(log_values(tmp_path, "ba3us", "train complement")) < 0  # minus a complement entropy
    # ISRA on BA3US: isra.yaml with the other backbone, as amls-bench's ba3us_isra runs it
    summary = train(near_digits, tmp_path, "isra", 2, warm_start_folder=source_model,
                    backbone="ba3us", method="ba3us_isra")
    terms = [k for k in ("align", "c2v", "complement", "entropy", "receptors")
             if len(log_values(tmp_path, "ba3us_isra", "train %s" % k)) == 2]
    assert terms == ["align", "c2v", "complement", "entropy", "receptors"]
    assert summary["accuracy"] > 0.7
