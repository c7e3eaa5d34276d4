"""The microphone and emotion recipes on tiny generated corpora.

The five Brains themselves are exercised on the gender recipe
(test_recipe_gender.py); here each task's data, networks and hparams are run
with a closed-set and an open-set method, for one short epoch each.
"""

from pathlib import Path

import numpy as np
import pytest

from amls_speech.recipe import load_hparams, run
from helpers import expected_from_records
from data_prep.synth_emotion import generate_emotion
from data_prep.synth_microphones import render_microphones

ROOT = Path(__file__).resolve().parents[1]
RUN_OPTS = {"device": "cpu", "noprogressbar": True}


@pytest.fixture(scope="module")
def tiny_microphones(tiny_keywords, tmp_path_factory):
    return render_microphones(tiny_keywords, tmp_path_factory.mktemp("mics") / "mics", devices=("M", "R", "U"))


@pytest.fixture(scope="module")
def tiny_emotion(tmp_path_factory):
    return generate_emotion(tmp_path_factory.mktemp("emo") / "emo", seed=3, crema_actors=4,
                            ravdess_actors=4, crema_sentences=["DFA", "TSI"], ravdess_repetitions=1)


def check(summary, method):
    conf, score = expected_from_records(summary)
    assert len(summary["records"]["truth"]) > 0 and summary["confusion"] == conf.tolist()
    assert summary["score"] == pytest.approx(score)
    if method in ("uan", "amls"):
        assert np.isfinite(summary["threshold"])
    else:
        assert summary["unknown_accuracy"] == 0.0


@pytest.mark.parametrize("method,task", [("adda", "U2M"), ("amls", "M2R")])
def test_microphone_recipe(tiny_microphones, tmp_path, method, task):
    hp = load_hparams(ROOT / "recipes" / "microphone" / "hparams" / ("%s.yaml" % method), {
        "task": task, "data_folder": str(tiny_microphones), "results_root": str(tmp_path),
        "number_of_epochs": 2, "batch_size": 16, "warm_start": False})
    summary = run(hp, RUN_OPTS)
    check(summary, method)
    assert len(summary["classes"]) == 20 and len(summary["shared_classes"]) == 10
    manifest = (tmp_path / task / "manifests" / "target_test.csv").read_text()
    assert ",%s," % task[-1] in manifest  # rows of the target microphone


@pytest.mark.parametrize("method", ["dann", "uan"])
def test_emotion_recipe(tiny_emotion, tmp_path, method):
    hp = load_hparams(ROOT / "recipes" / "emotion" / "hparams" / ("%s.yaml" % method), {
        "crema_folder": str(tiny_emotion / "CREMA-D"), "ravdess_folder": str(tiny_emotion / "RAVDESS"),
        "results_root": str(tmp_path), "number_of_epochs": 1, "batch_size": 8, "warm_start": False})
    summary = run(hp, RUN_OPTS)
    check(summary, method)
    assert summary["classes"] == ["Angry", "Calm", "Fear", "Happy", "Sad"]
    assert summary["shared_classes"] == ["Angry", "Calm", "Fear"]
