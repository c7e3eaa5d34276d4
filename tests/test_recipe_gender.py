"""The gender recipe end to end on a tiny generated corpus: trains, scores, resumes."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from amls_speech.recipe import load_hparams, run

ROOT = Path(__file__).resolve().parents[1]
HPARAMS = ROOT / "recipes" / "gender" / "hparams"


def overrides(corpus, out, **extra):
    base = {
        "data_folder": str(corpus),
        "results_root": str(out),
        "source_valid_ratio": 0.25,  # 4 speakers a gender: the official lists may miss one
        "batch_size": 16,
        "number_of_epochs": 1,
    }
    base.update(extra)
    return base


def run_folder(out, method, task="M2F", seed=0, n_shared=10):
    return Path(out) / task / ("shared%d" % n_shared) / method / ("seed%d" % seed)


def train_log(out, method, task="M2F", seed=0):
    return (run_folder(out, method, task, seed) / "train_log.txt").read_text()


def test_source_only_learns(tiny_keywords, tmp_path):
    hp = load_hparams(HPARAMS / "source_only.yaml",
                      overrides(tiny_keywords, tmp_path, number_of_epochs=10, batch_size=8))
    summary = run(hp, {"device": "cpu", "noprogressbar": True})
    log = train_log(tmp_path, "source_only")
    losses = [float(x) for x in re.findall(r"train loss: ([0-9.e+-]+)", log)]
    accs = [float(x) for x in re.findall(r"source_acc: ([0-9.e+-]+)", log)]
    assert len(losses) == 10 and losses[-1] < 0.7 * losses[0], losses
    assert max(accs[-2:]) > 4 / 20, accs  # four times chance on 20 source classes (held-out voices)
    assert summary["shared_accuracy"] > 2 / 20  # twice chance on the other gender
    assert summary["unknown_accuracy"] == 0.0  # a closed-set method never says unknown
    saved = json.loads((run_folder(tmp_path, "source_only") / "results.json").read_text())
    assert saved["score"] == pytest.approx(summary["score"])


@pytest.mark.parametrize("method", ["dann", "adda", "uan", "amls"])
def test_every_method_trains_and_tests(tiny_keywords, tmp_path, method):
    hp = load_hparams(HPARAMS / ("%s.yaml" % method), overrides(tiny_keywords, tmp_path, number_of_epochs=2))
    summary = run(hp, {"device": "cpu", "noprogressbar": True})
    for key in ("score", "h_score", "accuracy", "shared_accuracy", "unknown_accuracy"):
        assert key in summary
    assert 0.0 <= summary["score"] <= 1.0
    assert summary["checkpoint_selection"] == "last"
    n_test = len(summary["records"]["truth"])
    assert n_test > 0 and sum(map(sum, summary["confusion"])) == n_test
    if method == "amls":  # Otsu's split rejects part of the target set
        assert summary["threshold_rule"] == "otsu" and summary["unknown_accuracy"] > 0
    if method == "uan":
        assert summary["threshold_rule"] == "fixed" and summary["threshold"] == -0.5


def test_interrupted_training_resumes(tiny_keywords, tmp_path):
    first = load_hparams(HPARAMS / "adda.yaml", overrides(tiny_keywords, tmp_path, number_of_epochs=1))
    run(first, {"device": "cpu", "noprogressbar": True})
    ckpt = next((run_folder(tmp_path, "adda") / "save").glob("CKPT*"))
    for name in ("optimizer", "target_optimizer", "disc_optimizer", "target_extractor", "counter"):
        assert (ckpt / ("%s.ckpt" % name)).exists(), name
    # A longer run in the same folder goes on from epoch 2 instead of starting over.
    again = load_hparams(HPARAMS / "adda.yaml", overrides(tiny_keywords, tmp_path, number_of_epochs=2))
    run(again, {"device": "cpu", "noprogressbar": True})
    log = train_log(tmp_path, "adda")
    assert log.count("epoch: 1 ") == 1 and log.count("epoch: 2 ") == 1


def test_infomax_selection_tests_the_epoch_of_highest_target_im(tiny_keywords, tmp_path):
    hp = load_hparams(HPARAMS / "dann.yaml", overrides(tiny_keywords, tmp_path, number_of_epochs=3,
                                                       checkpoint_selection="target_infomax"))
    summary = run(hp, {"device": "cpu", "noprogressbar": True})
    ims = [float(x) for x in re.findall(r"target_im: ([0-9.e+-]+)", train_log(tmp_path, "dann"))]
    assert len(ims) == 3 and all(0 <= v <= np.log(20) for v in ims), ims
    assert summary["checkpoint_selection"] == "target_infomax"
    assert ims[summary["selected_epoch"] - 1] == max(ims), (ims, summary["selected_epoch"])
    # the extra pass over the target set does not change training: same losses as with "last"
    last = tmp_path / "last"
    run(load_hparams(HPARAMS / "dann.yaml", overrides(tiny_keywords, last, number_of_epochs=3)),
        {"device": "cpu", "noprogressbar": True})
    losses = [re.findall(r"train loss: ([0-9.e+-]+)", train_log(out, "dann")) for out in (tmp_path, last)]
    assert losses[0] == losses[1] and len(losses[0]) == 3


def test_unknown_selection_rule_fails_before_training(tiny_keywords, tmp_path):
    hp = load_hparams(HPARAMS / "dann.yaml", overrides(tiny_keywords, tmp_path, checkpoint_selection="best"))
    with pytest.raises(ValueError, match="checkpoint_selection must be one of"):
        run(hp, {"device": "cpu", "noprogressbar": True})
    assert not list(run_folder(tmp_path, "dann").glob("save/CKPT*"))


def test_a_checkpoint_from_another_partition_is_refused_clearly(tiny_keywords, tmp_path):
    run(load_hparams(HPARAMS / "source_only.yaml", overrides(tiny_keywords, tmp_path)),
        {"device": "cpu", "noprogressbar": True})
    other = load_hparams(HPARAMS / "source_only.yaml", overrides(
        tiny_keywords, tmp_path, n_shared=3, output_folder=str(run_folder(tmp_path, "source_only"))))
    with pytest.raises(RuntimeError, match="does not fit this model.*own output_folder"):
        run(other, {"device": "cpu", "noprogressbar": True})


def test_train_py_command_line(tiny_keywords, tmp_path):
    cmd = [sys.executable, str(ROOT / "recipes" / "gender" / "train.py"), str(HPARAMS / "dann.yaml"),
           "--task", "F2M", "--data_folder", str(tiny_keywords), "--results_root", str(tmp_path),
           "--source_valid_ratio", "0.25", "--number_of_epochs", "1", "--noprogressbar"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    scores = json.loads(done.stdout[done.stdout.index("{"):])
    assert set(scores) == {"score", "h_score", "accuracy", "shared_accuracy", "unknown_accuracy"}
    assert (run_folder(tmp_path, "dann", task="F2M") / "results.json").exists()
