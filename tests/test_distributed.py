"""``torchrun --nproc_per_node=2`` on CPU (gloo): sharded training, one preparation, one writer."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")

# Runs recipe.main under torchrun and logs, per process, the training pairs it
# drew, every preparation call and every checkpoint or results file it wrote.
DRIVER = '''
import importlib, json, os, sys
import torch
import amls_speech.recipe as recipe
from amls_speech.brains.base import AdaptationBrain

prep_module, prep_name = sys.argv[2].split(":")  # the preparation function the hparams name
prep = importlib.import_module(prep_module)

rank = int(os.environ["RANK"])
log = {"pairs": [], "prepare": 0, "writes": []}
fit_batch = AdaptationBrain.fit_batch
def logged_fit_batch(self, batch):
    log["pairs"] += list(zip(batch.source.id, batch.target.id))
    return fit_batch(self, batch)
AdaptationBrain.fit_batch = logged_fit_batch
prepare = getattr(prep, prep_name)
def logged_prepare(*args, **kwargs):
    log["prepare"] += 1
    return prepare(*args, **kwargs)
setattr(prep, prep_name, logged_prepare)
save, write_json = torch.save, recipe.write_json_atomic
def logged_save(obj, f, *args, **kwargs):
    if "/save/" in str(f):
        log["writes"].append(str(f))
    return save(obj, f, *args, **kwargs)
torch.save = logged_save
def logged_write_json(path, obj, *args, **kwargs):
    log["writes"].append(str(path))
    return write_json(path, obj, *args, **kwargs)
recipe.write_json_atomic = logged_write_json
try:
    recipe.main(sys.argv[3:])
finally:
    with open(os.path.join(sys.argv[1], "rank%d.json" % rank), "w") as f:
        json.dump(log, f)
'''


def torchrun(tmp_path, corpus, method, recipe="gender", prepare="data_prep.speech_commands:prepare_speech_commands",
             **overrides):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    logs = tmp_path / ("logs_" + method)
    logs.mkdir()
    base = {"source_valid_ratio": 0.25} if recipe == "gender" else {}
    args = {"data_folder": corpus, "results_root": tmp_path / "runs", "batch_size": 8, "number_of_epochs": 1,
            **base, **overrides}
    cmd = [str(TORCHRUN), "--nproc_per_node=2", "--standalone", str(driver), str(logs), prepare,
           str(ROOT / "recipes" / recipe / "hparams" / ("%s.yaml" % method)),
           "--distributed_backend", "gloo"] + [x for k, v in args.items() for x in ("--" + k, str(v))]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [json.loads((logs / ("rank%d.json" % r)).read_text()) for r in (0, 1)], done.stdout


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed beside this Python")
def test_two_processes_shard_the_pairs_prepare_once_and_write_once(tiny_keywords, tmp_path):
    ranks, _ = torchrun(tmp_path, tiny_keywords, "source_only")
    warm, stdout = torchrun(tmp_path, tiny_keywords, "amls", warm_start=True)  # from the DDP source-only run
    run = tmp_path / "runs" / "M2F" / "shared10" / "amls" / "seed0"
    results = json.loads((run / "results.json").read_text())
    for logs in (ranks, warm):
        first, second = (set(map(tuple, r["pairs"])) for r in logs)
        assert first and second and not first & second  # each process trains on its own shard
        assert abs(len(first) - len(second)) <= 8  # halves, up to one batch of drop_last
        assert [r["prepare"] for r in logs] == [1, 0]  # run_on_main: preparation on rank 0 only
        assert logs[0]["writes"] and logs[1]["writes"] == []  # rank 1 writes no checkpoint, no results
    # the larger domain is read once per epoch: the two shards hold different clips of it
    pairs = warm[0]["pairs"] + warm[1]["pairs"]
    larger = max((0, 1), key=lambda side: len({p[side] for p in pairs}))
    ids = [[p[larger] for p in r["pairs"]] for r in warm]
    assert len(set(ids[0] + ids[1])) == len(ids[0]) + len(ids[1])
    # the test set is scored once and whole, as in one process
    n_test = len((tmp_path / "runs" / "M2F" / "shared10" / "manifests" / "target_test.csv")
                 .read_text().splitlines()) - 1
    assert len(results["records"]["truth"]) == n_test
    assert stdout.count('"score"') == 1  # the summary is printed by the main process only
    assert sum(1 for p in warm[0]["writes"] if p.endswith("results.json")) == 1


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed beside this Python")
def test_a_vision_recipe_under_two_processes(tiny_digits, tmp_path):
    """DANN on images: the same sharding, one preparation and one writer; the test set scored whole."""
    ranks, stdout = torchrun(tmp_path, tiny_digits, "dann", recipe="digits",
                             prepare="data_prep.digits:prepare_digits", task="MN2UC",
                             selection_alternatives="[]")
    first, second = (set(map(tuple, r["pairs"])) for r in ranks)
    assert first and second and not first & second
    assert [r["prepare"] for r in ranks] == [1, 0]
    assert ranks[0]["writes"] and ranks[1]["writes"] == []
    results = json.loads((tmp_path / "runs" / "MN2UC" / "dann" / "seed0" / "results.json").read_text())
    assert len(results["records"]["truth"]) == 300  # the whole uci test split of the fixture
    assert stdout.count('"score"') == 1


# amls-bench --nproc_per_node: tests/test_recipes_ckm.py::test_the_clustering_table_under_two_processes
