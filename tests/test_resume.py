"""A run killed in the middle of an epoch and started again ends as an uninterrupted run would."""

import json

import pytest
import torch

from amls_speech.recipe import load_hparams, run
from test_recipe_gender import HPARAMS, overrides, run_folder

RUN_OPTS = {"device": "cpu", "noprogressbar": True, "ckpt_interval_steps": 2}


class Killed(Exception):
    """Stands in for a signal: raised inside a training step."""


def train(corpus, out, method, kill_at=None, monkeypatch=None):
    """Runs ``method`` for 2 epochs; ``kill_at=(epoch, step)`` raises inside that step."""
    hp = load_hparams(HPARAMS / ("%s.yaml" % method), overrides(corpus, out, number_of_epochs=2, batch_size=8))
    if kill_at:
        brain_class = hp["brain_class"]
        fit_batch = brain_class.fit_batch  # ADDA has its own

        def dying_fit_batch(self, batch):
            if (self.epoch, self.step) == kill_at:
                raise Killed("step %s" % (kill_at,))
            return fit_batch(self, batch)

        monkeypatch.setattr(brain_class, "fit_batch", dying_fit_batch)
    return run(hp, dict(RUN_OPTS))


@pytest.mark.parametrize("method", ["amls", "adda"])  # one optimizer + threshold state; three optimizers
def test_a_run_killed_mid_epoch_resumes_to_the_same_result(tiny_keywords, tmp_path, monkeypatch, method):
    straight = train(tiny_keywords, tmp_path / "straight", method)
    with pytest.raises(Killed):
        train(tiny_keywords, tmp_path / "killed", method, kill_at=(2, 5), monkeypatch=monkeypatch)
    monkeypatch.undo()
    saved = list((run_folder(tmp_path / "killed", method) / "save").glob("CKPT*"))
    assert any("intra" in (c / "CKPT.yaml").read_text().lower() for c in saved)  # it stopped mid-epoch
    resumed = train(tiny_keywords, tmp_path / "killed", method)
    for key in ("score", "h_score", "accuracy", "threshold"):
        assert resumed[key] == straight[key], key
    assert resumed["records"]["score"] == straight["records"]["score"]
    assert resumed["records"]["closed_prediction"] == straight["records"]["closed_prediction"]
    log = (run_folder(tmp_path / "killed", method) / "train_log.txt").read_text()
    assert log.count("epoch: 1 ") == 1 and log.count("epoch: 2 ") == 1
    straight_log = (run_folder(tmp_path / "straight", method) / "train_log.txt").read_text()
    assert log.split("epoch: 2 ")[1].split(" - valid")[0] == straight_log.split("epoch: 2 ")[1].split(" - valid")[0]


def test_a_nan_loss_names_its_term_and_keeps_the_last_good_checkpoint(tiny_keywords, tmp_path, monkeypatch):
    import torch

    from amls_speech.brains import DANN
    from amls_speech.brains.base import NonFiniteLossError

    train_losses = DANN.train_losses

    def poisoned(self, out, batch):
        terms = train_losses(self, out, batch)
        if (self.epoch, self.step) == (2, 3):
            terms["domain"] = terms["domain"] * float("nan")
        return terms

    monkeypatch.setattr(DANN, "train_losses", poisoned)
    hp = load_hparams(HPARAMS / "dann.yaml", overrides(tiny_keywords, tmp_path, number_of_epochs=2, batch_size=8))
    with pytest.raises(NonFiniteLossError, match=r"'domain' is nan at epoch 2, step 3.*last good checkpoint"):
        run(hp, {"device": "cpu", "noprogressbar": True})
    saved = list((run_folder(tmp_path, "dann") / "save").glob("CKPT*"))
    assert len(saved) == 1 and "end-of-epoch: true" in (saved[0] / "CKPT.yaml").read_text().lower()
    state = torch.load(saved[0] / "extractor.ckpt")
    assert all(torch.isfinite(v).all() for v in state.values())  # epoch 1's weights, untouched
    monkeypatch.undo()  # the same command resumes from it and finishes
    summary = run(load_hparams(HPARAMS / "dann.yaml", overrides(tiny_keywords, tmp_path, number_of_epochs=2,
                                                                  batch_size=8)), {"device": "cpu", "noprogressbar": True})
    assert summary["selected_epoch"] == 2


def test_a_run_killed_while_saving_resumes_from_the_last_whole_checkpoint(tiny_keywords, tmp_path, monkeypatch):
    import torch

    save = torch.save
    state = {}

    def dying_save(obj, f, *args, **kwargs):  # epoch 2's checkpoint dies half-written
        if state.get("epoch2") and "/save/CKPT" in str(f) and str(f).endswith("classifier.ckpt"):
            raise Killed("while saving")
        return save(obj, f, *args, **kwargs)

    from amls_speech.brains import DANN

    on_stage_start = DANN.on_stage_start

    def mark_epoch(self, stage, epoch=None):
        state["epoch2"] = epoch == 2
        return on_stage_start(self, stage, epoch)

    monkeypatch.setattr(torch, "save", dying_save)
    monkeypatch.setattr(DANN, "on_stage_start", mark_epoch)
    hp = load_hparams(HPARAMS / "dann.yaml", overrides(tiny_keywords, tmp_path, number_of_epochs=2, batch_size=8))
    with pytest.raises(Killed):
        run(hp, {"device": "cpu", "noprogressbar": True})
    monkeypatch.undo()
    folders = sorted((run_folder(tmp_path, "dann") / "save").glob("CKPT*"))
    whole = [f for f in folders if (f / "CKPT.yaml").exists()]
    assert len(folders) == 2 and len(whole) == 1  # the interrupted one has no CKPT.yaml
    summary = run(load_hparams(HPARAMS / "dann.yaml", overrides(tiny_keywords, tmp_path, number_of_epochs=2,
                                                                  batch_size=8)), {"device": "cpu", "noprogressbar": True})
    assert summary["selected_epoch"] == 2
    log = (run_folder(tmp_path, "dann") / "train_log.txt").read_text()
    assert log.count("epoch: 1 ") == 1 and log.count("epoch: 2 ") == 2  # epoch 2 trained again, from epoch 1
    assert all((f / "CKPT.yaml").exists() for f in (run_folder(tmp_path, "dann") / "save").glob("CKPT*"))


def test_a_truncated_wav_met_in_the_middle_of_training_is_named_and_the_checkpoint_kept(tiny_keywords, tmp_path):
    import csv
    import shutil

    from amls_speech.audio import AudioError

    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_keywords, corpus)
    over = overrides(corpus, tmp_path / "out", number_of_epochs=1, batch_size=8, feature_cache=None)
    run(load_hparams(HPARAMS / "dann.yaml", over), {"device": "cpu", "noprogressbar": True})
    manifest = tmp_path / "out" / "M2F" / "shared10" / "manifests" / "source_train.csv"
    with open(manifest) as f:
        victim = list(csv.DictReader(f))[5]["wav"]
    data = open(victim, "rb").read()
    open(victim, "wb").write(data[: len(data) // 2])  # cut short after preparation
    saved = sorted((run_folder(tmp_path / "out", "dann") / "save").glob("CKPT*"))
    over["number_of_epochs"] = 2
    with pytest.raises(AudioError, match="%s: the file is truncated" % victim):
        run(load_hparams(HPARAMS / "dann.yaml", over), {"device": "cpu", "noprogressbar": True})
    assert sorted((run_folder(tmp_path / "out", "dann") / "save").glob("CKPT*")) == saved  # epoch 1 kept


def test_every_process_waits_until_the_checkpoint_is_whole(tmp_path, monkeypatch):
    """Under DDP a process that lists the checkpoints before CKPT.yaml is written deletes other ones
    than the main process, and their broadcasts no longer pair up (a hang): the save ends at a barrier
    that comes after CKPT.yaml."""
    import amls_speech.checkpoints as checkpoints

    seen = []
    monkeypatch.setattr(checkpoints, "ddp_barrier",
                        lambda: seen.append([(c / "CKPT.yaml").exists() for c in tmp_path.glob("CKPT*")]))
    ckpt = checkpoints.AtomicCheckpointer(tmp_path, recoverables={"layer": torch.nn.Linear(2, 2)})
    ckpt.save_checkpoint(meta={"acc": 0.5})
    assert seen == [[True]]
