"""``amls-predict`` and ``AdaptedClassifier``: a finished run classifies new audio as its test did."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from amls_speech.inference import AdaptedClassifier, RunFolderError, main
from amls_speech.metrics import OpenSetStats
from amls_speech.recipe import run_recipe

HPARAMS = Path(__file__).resolve().parents[1] / "recipes" / "gender" / "hparams"
METHODS = ("source_only", "dann", "adda", "uan", "amls")


@pytest.fixture(scope="module")
def finished_runs(tiny_keywords, tmp_path_factory):
    """A run of every method, trained for one epoch (the open-set ones: AMLS, UAN)."""
    out = tmp_path_factory.mktemp("runs")
    folders = {}
    for method in METHODS:
        run_recipe(HPARAMS / ("%s.yaml" % method),
                   {"data_folder": str(tiny_keywords), "results_root": str(out), "source_valid_ratio": 0.25,
                    "batch_size": 16, "number_of_epochs": 1, "warm_start": False},
                   {"device": "cpu", "noprogressbar": True})
        folders[method] = out / "M2F" / "shared10" / method / "seed0"
    return out, folders


def target_test_rows(out):
    with open(out / "M2F" / "shared10" / "manifests" / "target_test.csv") as f:
        return list(csv.DictReader(f))


def predicted_by_the_test(results):
    """The labels the run's own test gave its target test clips (from results.json's records)."""
    rec, classes, thr = results["records"], results["classes"], results["threshold"]
    index = [len(classes) if thr is not None and s < np.float32(thr) else p
             for s, p in zip(rec["score"], rec["closed_prediction"])]
    return [classes[i] if i < len(classes) else "unknown" for i in index]


@pytest.mark.parametrize("method", METHODS)
def test_amls_predict_reproduces_the_test_predictions_and_score(finished_runs, tmp_path, method):
    out, folders = finished_runs
    rows = target_test_rows(out)
    results = json.loads((folders[method] / "results.json").read_text())
    classes = results["classes"]
    truth = [classes.index(r["label"]) if r["label"] in classes else len(classes) for r in rows]
    assert truth == results["records"]["truth"]  # the records are in manifest order
    table = tmp_path / "predictions.csv"
    main([str(folders[method])] + [r["wav"] for r in rows] + ["--csv", str(table), "--batch_size", "7"])
    with open(table) as f:
        predicted = list(csv.DictReader(f))
    assert [p["path"] for p in predicted] == [r["wav"] for r in rows]
    labels = [p["label"] for p in predicted]
    assert labels == predicted_by_the_test(results)
    if method in ("amls", "uan"):
        assert "unknown" in labels and set(labels) - {"unknown"}  # the threshold splits this test set
        np.testing.assert_allclose([float(p["score"]) for p in predicted], results["records"]["score"],
                                   rtol=1e-5, atol=1e-6)
    else:
        assert "unknown" not in labels and all(p["score"] == "" for p in predicted)
    stats = OpenSetStats(classes, results["shared_classes"])
    stats.append(range(len(rows)), [classes.index(x) if x in classes else len(classes) for x in labels], truth)
    assert stats.summarize("score") == pytest.approx(results["score"])


def test_classify_file_matches_the_batch_path(finished_runs):
    out, folders = finished_runs
    model = AdaptedClassifier.from_run(folders["amls"])
    rows = target_test_rows(out)[:3]
    probs, score, index, label = model.classify_file(rows[0]["wav"])
    assert probs.shape == (len(model.classes),) and float(probs.sum()) == pytest.approx(1.0, abs=1e-5)
    batch = [model.load_audio(r["wav"]) for r in rows]
    length = max(len(w) for w in batch)
    padded = np.zeros((len(batch), length), dtype="float32")
    for i, w in enumerate(batch):
        padded[i, : len(w)] = w.numpy()
    probs_b, score_b, index_b, labels_b = model.classify_batch(padded, [len(w) / length for w in batch])
    assert labels_b[0] == label and int(index_b[0]) == index
    assert float(score_b[0]) == pytest.approx(score, abs=1e-6)


def test_unreadable_audio_is_named_and_the_rest_classified(finished_runs, tmp_path, capsys):
    out, folders = finished_runs
    good = [r["wav"] for r in target_test_rows(out)[:2]]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00 not audio")
    with pytest.raises(SystemExit) as exit_:
        main([str(folders["amls"]), good[0], str(broken), good[1]])
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0] == "path,label,score" and len(lines) == 4
    assert lines[2].startswith("%s,error," % broken)
    assert not lines[1].split(",")[1] == "error" and not lines[3].split(",")[1] == "error"
    assert "cannot classify %s" % broken in captured.err and "1 of 3" in captured.err


def test_a_folder_that_is_not_a_finished_run_is_refused(finished_runs, tmp_path):
    _, folders = finished_runs
    unfinished = tmp_path / "unfinished"
    shutil.copytree(folders["amls"], unfinished)
    (unfinished / "results.json").unlink()
    with pytest.raises(SystemExit, match="not a finished run: it has no results.json"):
        main([str(unfinished), "x.wav"])
    with pytest.raises(RunFolderError, match="is not a folder"):
        AdaptedClassifier.from_run(tmp_path / "nowhere")


def test_a_checkpoint_that_does_not_fit_its_hparams_is_refused(finished_runs, tmp_path):
    _, folders = finished_runs
    other = tmp_path / "other"
    shutil.copytree(folders["amls"], other)
    hparams = (other / "hyperparams.yaml").read_text()
    assert "hidden: [256, 128]" in hparams
    (other / "hyperparams.yaml").write_text(hparams.replace("hidden: [256, 128]", "hidden: [64, 128]"))
    with pytest.raises(RunFolderError, match="does not fit"):
        AdaptedClassifier.from_run(other)
