"""Benchmark tables and plots from records, and the runner's command line."""

import json

import pytest

from amls_speech import bench, report

TINY_PRESET = {"source_epochs": 1, "adapt_epochs": 1, "source_valid_ratio": 0.25}


def record(method, seed, score, task="M2F", rejection=None, n_shared=None):
    # 2 source classes (a shared, b source-private); unknown index 2
    truth = [0, 0, 2, 2]
    closed = [0, 1, 0, 0]
    return {
        "method": method, "task": task, "seed": seed, "score": score, "h_score": 0.5,
        "accuracy": 0.5, "shared_accuracy": 0.5, "unknown_accuracy": 0.0,
        "checkpoint_selection": "last", "threshold_rule": "otsu" if rejection else "none (closed set)",
        "classes": ["a", "b"], "shared_classes": ["a"], "per_class": {"a": score},
        "records": {"score": rejection or [None] * 4, "closed_prediction": closed, "truth": truth},
        "data": "embedded synthetic (eSpeak NG TTS)", "n_shared": n_shared,
        "labels": ["a", "b", "unknown"], "confusion": [[1, 1, 0], [0, 0, 0], [2, 0, 0]],
    }


def test_oracle_score_by_hand():
    # scores: shared samples 0.9 (right) and 0.8 (wrong); private 0.1 and 0.2.
    # Best cut (0.8 < t <= 0.9 is worse): reject < 0.8 -> a: 1/2, unknown 2/2 -> 0.75;
    # reject < 0.9 -> a: 1/2 (the wrong one rejected), unknown 2/2 -> 0.75.
    rec = record("amls", 0, 0.1, rejection=[0.9, 0.8, 0.1, 0.2])
    assert report.oracle_score(rec) == pytest.approx(0.75)
    assert report.rejection_auroc(rec) == 1.0
    assert report.oracle_score(record("dann", 0, 0.1)) is None


def test_table_layout_and_honesty(tmp_path):
    records = [record("source_only", s, v) for s, v in ((0, 0.2), (1, 0.4))]
    records += [record("amls", s, 0.5, rejection=[0.9, 0.8, 0.1, 0.2]) for s in (0, 1)]
    records += [record("amls", 0, 0.3, n_shared=3), record("source_only", 0, 0.1, n_shared=3)]
    text = report.table1(records)
    assert "| Source | last, threshold: none (closed set) | 30.0 ± 10.0 |" in text
    assert "AMLS (oracle threshold) | threshold chosen on target TEST labels" in text
    assert "embedded synthetic" in text and "seeds [0, 1]" in text
    report.write_all(records, tmp_path)
    assert (tmp_path / "table.md").exists()
    assert (tmp_path / "fig3_relative_change.png").stat().st_size > 1000
    assert (tmp_path / "fig3_shared_sweep.png").stat().st_size > 1000
    assert (tmp_path / "confusion_M2F.png").stat().st_size > 1000
    assert "confusion_M2F.png" in (tmp_path / "table.md").read_text()


def test_pooled_confusion_refuses_different_label_sets():
    a = record("amls", 0, 0.5)
    b = dict(a, labels=["a", "c", "unknown"])
    with pytest.raises(ValueError, match="different label sets"):
        report.pooled_confusion([a, b])
    # the source-private row has no test samples: zeros, not NaN
    labels, matrix = report.pooled_confusion([a, a])
    assert matrix.tolist() == [[0.5, 0.5, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]


def test_bench_plans_runs_and_rejects_unknown_names():
    args = bench.make_parser().parse_args(
        ["--tasks", "M2F,F2M", "--methods", "dann,amls", "--seeds", "0,1", "--sweep_shared", "1,5"])
    runs = bench.planned_runs(args)
    assert len(runs) == 2 * 2 * 2 + 2 * 2 * 2 * 2
    assert ("F2M", "amls", 1, 5) in runs
    with pytest.raises(SystemExit):
        bench.planned_runs(bench.make_parser().parse_args(["--tasks", "X2Y"]))


def test_an_epoch_count_of_zero_is_refused_not_read_as_the_preset(capsys):
    with pytest.raises(SystemExit):
        bench.make_parser().parse_args(["--adapt_epochs", "0"])
    assert "expected an integer >= 1, got '0'" in capsys.readouterr().err
    assert bench.epochs(bench.make_parser().parse_args(["--adapt_epochs", "1"]))[1] == 1


def test_bench_end_to_end_resumes(tiny_keywords, tmp_path, monkeypatch):
    out = tmp_path / "out"
    argv = ["--tasks", "M2F", "--methods", "source_only,amls", "--seeds", "0", "--source_epochs", "1", "--adapt_epochs", "1",
            "--data_folder", str(tiny_keywords), "--out", str(out)]
    monkeypatch.setattr(bench, "PRESETS", {"quick": TINY_PRESET, "full": TINY_PRESET})
    bench.main(argv)
    results = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in results] == ["source_only", "amls"]
    for key in ("task", "method", "seed", "score", "h_score", "accuracy", "shared_accuracy",
                "unknown_accuracy", "checkpoint_selection", "threshold_rule"):
        assert key in results[0]
    table = (out / "table.md").read_text()
    assert "corpus at" in table
    assert "READ TARGET LABELS" in table and "| M2F | AMLS |" in table  # the diagnostics table
    assert "Rejection-threshold calibration" in table
    assert results[1]["diagnostics"]["pseudo_labels"][0]["epoch"] == 1
    bench.main(argv)  # everything done already: nothing is re-run
    assert len(json.loads((out / "results.json").read_text())) == 2
    before = (out / "results.json").read_bytes()
    with pytest.raises(SystemExit, match="Use a new --out"):
        bench.main(argv + ["--set", "adversarial_weight=0.5"])  # other settings: refused
    assert (out / "results.json").read_bytes() == before


def tiny_bench(corpus, out, monkeypatch, *argv):
    """``amls-bench`` on M2F seed 0 of ``corpus`` with one epoch per run; returns the records."""
    monkeypatch.setattr(bench, "PRESETS", {"full": TINY_PRESET})
    bench.main(["--tasks", "M2F", "--seeds", "0", "--data_folder", str(corpus), "--out", str(out), *argv])
    return json.loads((out / "results.json").read_text())


def test_bench_sweep_runs_apart_from_the_main_runs(tiny_keywords, tmp_path, monkeypatch):
    out = tmp_path / "out"
    results = tiny_bench(tiny_keywords, out, monkeypatch, "--methods", "source_only", "--sweep_shared", "3")
    assert [(r["n_shared"], len(r["shared_classes"]), len(r["classes"])) for r in results] == [
        (None, 10, 20), (3, 3, 13)]
    assert (out / "fig3_shared_sweep.png").stat().st_size > 1000


def fake_training(log_path, run_id, fail):
    """Stands in for a recipe run in the worker processes: logs its start and end."""
    import time

    with open(log_path, "a") as f:
        f.write("start %s\n" % "/".join(map(str, run_id)))
    time.sleep(0.3)
    if fail:
        raise ValueError("injected failure")
    with open(log_path, "a") as f:
        f.write("end %s\n" % "/".join(map(str, run_id)))
    return {"run": list(run_id)}


def test_parallel_runner_orders_adaptive_runs_after_their_source_only_run(tmp_path):
    log = tmp_path / "log.txt"
    todo = [(t, m, 0, 0) for t in ("M2F", "F2M") for m in ("source_only", "amls", "oracle")]
    finished = []
    bench.run_parallel(2, todo, lambda r: (str(log), r, False), lambda r, s: finished.append(s["run"]),
                       train=fake_training)
    assert sorted(map(tuple, finished)) == sorted(todo)
    events = log.read_text().split("\n")
    for task in ("M2F", "F2M"):
        assert events.index("end %s/source_only/0/0" % task) < events.index("start %s/amls/0/0" % task)


def test_parallel_runner_keeps_finished_runs_when_one_fails(tmp_path):
    log = tmp_path / "log.txt"
    todo = [("M2F", "source_only", 0, 0), ("M2F", "amls", 0, 0), ("F2M", "source_only", 0, 0)]
    finished = []
    with pytest.raises(RuntimeError, match="M2F.*source_only.*resumes"):
        bench.run_parallel(2, todo, lambda r: (str(log), r, r == todo[0]),
                           lambda r, s: finished.append(tuple(s["run"])), train=fake_training)
    assert finished == [todo[2]]  # ran beside the failed one and was kept
    assert "start M2F/amls/0/0" not in log.read_text()  # its source-only run failed


def test_bench_with_two_jobs_warm_starts_from_the_source_only_run(tiny_keywords, tmp_path, monkeypatch):
    out = tmp_path / "out"
    results = tiny_bench(tiny_keywords, out, monkeypatch, "--methods", "source_only,dann,oracle", "--jobs", "2")
    assert sorted(r["method"] for r in results) == ["dann", "oracle", "source_only"]
    # the DANN run found the source-only checkpoint (a missing one is an error)
    assert (out / "runs" / "gender" / "M2F" / "shared10" / "dann" / "seed0" / "results.json").exists()


def test_report_rebuilds_the_readme_block_from_per_run_records(tmp_path):
    runs = [record("source_only", 0, 0.4), record("amls", 0, 0.6, rejection=[0.9, 0.8, 0.1, 0.2]),
            record("amls", 1, 0.8, rejection=[0.9, 0.8, 0.1, 0.2])]
    results = tmp_path / "results.json"
    results.write_text(json.dumps(runs))
    folder = tmp_path / "records"
    report.main([str(results), "--save_runs", str(folder)])
    assert sorted(p.name for p in folder.iterdir()) == [
        "M2F_amls_seed0.json", "M2F_amls_seed1.json", "M2F_source_only_seed0.json"]
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nstale table\n<!-- results:end -->\nafter\n")
    report.main([str(p) for p in sorted(folder.iterdir())] + ["--readme", str(readme)])
    text = readme.read_text()
    assert text.startswith("intro\n<!-- results:start -->\n") and text.endswith("<!-- results:end -->\nafter\n")
    assert "stale table" not in text
    assert "| AMLS | last, threshold: otsu | 70.0 ± 10.0 (n=2) |" in text  # two seeds; cells differ in n
    assert "| Source | last, threshold: none (closed set) | 40.0 ± 0.0 (n=1) |" in text


def test_recalibrate_scores_the_tables_at_another_recorded_threshold_and_leaves_the_records(tmp_path):
    # closed predictions a, b, a, a; truth a, a, unknown, unknown. Held-out Otsu at 0.15 rejects the
    # private clip scored 0.1 only: a 1/2, unknown 1/2 -> 50. The training-clip threshold 0.5 rejects
    # both private clips: a 1/2, unknown 2/2 -> 75 (shared rejected 0 of 2, private 2 of 2).
    amls = dict(record("amls", 0, 0.5, rejection=[0.9, 0.8, 0.1, 0.2]), threshold=0.15,
                threshold_alternatives={"otsu": 0.15, "otsu_training_clips": 0.5, "fixed": 0.5},
                diagnostics={"signal_auroc": {"margin": 1.0}, "shared_rejected": 0.0, "private_rejected": 0.5})
    results = tmp_path / "results.json"
    results.write_text(json.dumps([amls, record("source_only", 0, 0.4)]))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\n<!-- results:end -->\n")
    report.main([str(results), "--readme", str(readme), "--recalibrate", "amls=otsu_training_clips",
                 "--save_runs", str(tmp_path / "runs")])
    text = readme.read_text()
    assert "| AMLS | last, threshold: otsu, training clips (recalibrated) | 75.0 ± 0.0 |" in text
    assert "| Source | last, threshold: none (closed set) | 40.0 ± 0.0 |" in text
    assert json.loads((tmp_path / "runs" / "M2F_amls_seed0.json").read_text())["score"] == 0.5  # as run
    again = report.recalibrated(amls, "otsu_training_clips")
    assert again["diagnostics"] == {"signal_auroc": {"margin": 1.0}, "shared_rejected": 0.0, "private_rejected": 1.0}
    assert again["confusion"] == [[1, 1, 0], [0, 0, 0], [0, 0, 2]]
    assert report.recalibrated(amls, "otsu")["score"] == pytest.approx(0.5)  # its own rule: unchanged
    with pytest.raises(ValueError, match="no 'otsu_training_clips' threshold"):
        report.recalibrated(dict(amls, threshold_alternatives={"otsu": 0.15}), "otsu_training_clips")


def test_an_ablation_gets_its_own_table_and_stays_out_of_the_defaults_cells():
    rej = [0.9, 0.8, 0.1, 0.2]
    runs = [record("amls", 0, 0.6, rejection=rej), record("amls", 1, 0.8, rejection=rej),
            dict(record("amls", 0, 0.2, rejection=rej), settings={"weight_normalization": "mean"}),
            dict(record("amls", 1, 0.3, rejection=rej), settings={"weight_normalization": "mean"})]
    text = report.tables(runs)
    assert "| AMLS | last, threshold: otsu | 70.0 ± 10.0 |" in text  # the defaults alone, not 47.5
    assert "| M2F | AMLS | defaults | 60.0 | 80.0 | 70.0 ± 10.0 |" in text
    assert "| M2F | AMLS | weight_normalization=mean | 20.0 | 30.0 | 25.0 ± 5.0 |" in text
    assert report.ablation_table(runs[:2]) == ""


def test_report_refuses_a_readme_without_markers(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps([record("source_only", 0, 0.4)]))
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    with pytest.raises(SystemExit, match="results:start"):
        report.main([str(results), "--readme", str(readme)])
    assert readme.read_text() == "no markers here\n"


def test_an_ablation_starts_from_the_source_only_runs_of_another_benchmark(tiny_keywords, tmp_path, monkeypatch):
    tiny_bench(tiny_keywords, tmp_path / "main", monkeypatch, "--methods", "source_only")
    with pytest.raises(SystemExit, match="no source-only run for M2F seed 0"):
        tiny_bench(tiny_keywords, tmp_path / "bad", monkeypatch, "--methods", "amls",
                   "--warm_start_from", str(tmp_path / "elsewhere"))
    results = tiny_bench(tiny_keywords, tmp_path / "ablation", monkeypatch, "--methods", "amls",
                         "--set", "weight_normalization=mean", "--warm_start_from", str(tmp_path / "main"))
    assert [r["method"] for r in results] == ["amls"] and results[0]["warm_start_from"] == str(tmp_path / "main")
    # no source-only run was made in the ablation's folder: the start came from the main one
    assert not (tmp_path / "ablation" / "runs" / "gender" / "M2F" / "shared10" / "source_only").exists()


def test_closed_set_table_gives_selection_alternatives_rows_and_pairs_variants_by_seed():
    def rec(method, seed, acc, alt=None, settings=None):
        return {"task": "MN2MM", "method": method, "seed": seed, "accuracy": acc, "classes": list("ab"),
                "shared_classes": list("ab"), "checkpoint_selection": "last", "settings": settings or {},
                "selection_alternatives": alt or {}}
    recs = [rec("source_only", 0, 0.5), rec("source_only", 1, 0.5), rec("oracle", 0, 0.9), rec("oracle", 1, 0.9),
            rec("dann", 0, 0.6, {"source_domain": {"accuracy": 0.8}}),
            rec("dann", 1, 0.72, {"source_domain": {"accuracy": 0.6}}),
            rec("dann", 0, 0.65, settings={"go_labels": "rounded"}),
            rec("dann", 1, 0.80, settings={"go_labels": "rounded"})]
    lines = report.closed_set_table(recs).splitlines()
    row = {tuple(c.strip() for c in line.split("|")[1:3]): line.split("|")[3].strip() for line in lines
           if line.startswith("| ")}
    # own rule: (0.6 + 0.72) / 2 = 66.0, std 6.0, 0.16 of the 0.4 gap = 40%
    assert row[("DANN", "last")] == "66.0 ± 6.0 (40%)"
    # the alternative: (0.8 + 0.6) / 2 = 70.0, against the same Source and oracle rows: 50%
    assert row[("DANN", "source_domain")] == "70.0 ± 10.0 (50%)"
    # paired by seed: 0.65 - 0.6 = 5, 0.80 - 0.72 = 8 points
    assert row[("DANN [go_labels=rounded] − DANN, paired seeds", "last")].startswith("6.5 ± 1.5")
    # the own rule's row comes before the alternative's
    names = [k for k in row if k[0] == "DANN"]
    assert names == [("DANN", "last"), ("DANN", "source_domain")]


def test_an_open_set_task_keeps_its_oracle_in_the_open_set_table():
    def rec(method, classes, shared):
        return {"task": "MN2MM-mls", "method": method, "seed": 0, "accuracy": 0.5, "score": 0.5,
                "classes": classes, "shared_classes": shared, "checkpoint_selection": "last",
                "threshold_rule": "none (closed set)", "h_score": 0.0, "shared_accuracy": 0.5,
                "unknown_accuracy": 0.0, "records": {"score": [None], "truth": [0]}}
    text = report.tables([rec("source_only", list("0123456"), list("3456")), rec("oracle", list("3456"), list("3456"))])
    assert "Closed-set tasks" not in text
    assert "| Train on target (upper bound, reads target labels) | " in text.split("h_score")[0]


def test_semi_supervised_runs_get_the_shots_table_and_stay_out_of_table_1():
    from amls_speech.report import clustering_table, shots_table

    def rec(k, acc, seed, **settings):
        return {"task": "MM2MN-het", "method": "ckm", "seed": seed, "accuracy": acc, "shared_classes": [],
                "classes": list("01234"), "settings": dict(settings, target_shots=k) if k else settings}

    runs = [rec(2, 0.6, 0), rec(2, 0.8, 1), rec(3, 0.9, 0), rec(2, 0.5, 0, number_of_epochs=10), rec(0, 0.4, 0)]
    rows = shots_table(runs).splitlines()[-2:]
    assert rows == ["| MM2MN-het | CKM-SSDA | 70.0 ± 10.0 (n=2) | 90.0 ± 0.0 (n=1) |",
                    "| MM2MN-het | CKM-SSDA [number_of_epochs=10] | 50.0 ± 0.0 | n/a |"]
    table1 = clustering_table(runs)
    assert "| CKM-UDA | last | 40.0 ± 0.0 |" in table1 and "SSDA" not in table1 and "target_shots" not in table1
