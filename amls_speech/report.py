"""Tables and plots from benchmark records (``results.json`` of ``amls-bench``).

Every table and plot states the data it came from and the selection rules;
a row whose threshold was chosen on target test labels says "oracle".
"""

import json
import math
import os
from collections import defaultdict

import numpy as np

from amls_speech.atomic import write_json_atomic, write_text_atomic
from amls_speech.diagnostics import auroc, rejection_rates, shared_mask
from amls_speech.metrics import OpenSetStats
from amls_speech.tasks import TASKS, is_partial

METRICS = ("score", "h_score", "accuracy", "shared_accuracy", "unknown_accuracy")
# the paper's Table 1 order, then the upper bound that reads target labels
METHOD_ORDER = ("source_only", "adda", "dann", "pada", "isra", "ba3us", "ba3us_isra", "uan", "amls",
                "oracle")
METHOD_NAMES = {"source_only": "Source", "adda": "ADDA", "dann": "DANN", "uan": "UAN", "amls": "AMLS",
                "pada": "PADA", "isra": "PADA + ISRA", "ba3us": "BA3US", "ba3us_isra": "BA3US + ISRA",
                "oracle": "Train on target (upper bound, reads target labels)"}
# the CKM paper's Table 1 rows (heterogeneous tasks: disjoint label sets)
CLUSTERING_ORDER = ("target_only", "src_targ", "dec", "dcn", "ckm")
CLUSTERING_NAMES = {"target_only": "Target clustering", "src_targ": "Src+Targ clustering",
                    "dec": "DEC-UDA", "dcn": "DCN-UDA", "ckm": "CKM-UDA"}
SIGNALS = ("margin", "neg_entropy", "d_source", "delta_t", "w_t")
TASK_ORDER = tuple(TASKS)  # the speech tasks, then the digit pairs


def mean_std(values):
    """``"mean ± std"`` in percent (population std over seeds; "n/a" if nothing is finite).

    Example
    -------
    >>> mean_std([0.5, 0.7])
    '60.0 ± 10.0'
    >>> mean_std([float("nan")])
    'n/a'
    """
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "n/a"
    return "%.1f ± %.1f" % (100 * np.mean(values), 100 * np.std(values))


def summary_at_threshold(record, threshold):
    """The record's scores (:class:`~amls_speech.metrics.OpenSetStats`) had its test clips been
    rejected below ``threshold``: the same model, from its per-clip test scores.

    Example
    -------
    >>> rec = {"classes": ["a", "b"], "shared_classes": ["a"],
    ...        "records": {"score": [0.9, 0.2, 0.1], "closed_prediction": [0, 0, 1], "truth": [0, 2, 2]}}
    >>> summary = summary_at_threshold(rec, 0.5)  # both private clips rejected
    >>> summary["unknown_accuracy"], summary["confusion"][2]
    (1.0, [0, 0, 2])
    """
    rec = record["records"]
    scores = np.asarray(rec["score"], dtype=float)
    preds = np.where(scores < threshold, len(record["classes"]), np.asarray(rec["closed_prediction"]))
    stats = OpenSetStats(record["classes"], record["shared_classes"])
    stats.append(range(len(preds)), preds, np.asarray(rec["truth"]))
    return stats.summarize()


def score_at_threshold(record, threshold):
    """The record's ``score`` had its test clips been rejected below ``threshold``.

    Example
    -------
    >>> rec = {"classes": ["a", "b"], "shared_classes": ["a"],
    ...        "records": {"score": [0.9, 0.2, 0.1], "closed_prediction": [0, 0, 1], "truth": [0, 2, 2]}}
    >>> score_at_threshold(rec, 0.5), score_at_threshold(rec, 0.0)  # (1 + 1) / 2 ; (1 + 0) / 2
    (1.0, 0.5)
    """
    return summary_at_threshold(record, threshold)["score"]


# a key of a run's threshold_alternatives -> (threshold_rule, calibration_clips) of a run made with it
CALIBRATION_OF_ALTERNATIVE = {"otsu": ("otsu", "held_out"), "otsu_training_clips": ("otsu", "training"),
                              "fixed": ("fixed", "held_out")}


def recalibrated(record, alternative):
    """The record as its run would have written it with another rejection threshold calibration.

    A record whose run used that calibration already is returned as it is.

    The threshold is calibrated after training, so the same trained model,
    thresholded at ``record["threshold_alternatives"][alternative]`` (one of
    :data:`CALIBRATION_OF_ALTERNATIVE`), is what a run with that calibration
    tests. The scores, the confusion matrix and the rejection rates are
    recomputed from the record's per-clip test scores; ``recalibrated_from``
    keeps the run's own rule, threshold and score.

    Example
    -------
    >>> rec = {"classes": ["a", "b"], "shared_classes": ["a"], "threshold": 0.0, "threshold_rule": "otsu",
    ...        "score": 0.5, "threshold_alternatives": {"otsu": 0.0, "otsu_training_clips": 0.5},
    ...        "records": {"score": [0.9, 0.2, 0.1], "closed_prediction": [0, 0, 1], "truth": [0, 2, 2]},
    ...        "diagnostics": {"shared_rejected": 0.0, "private_rejected": 0.0}}
    >>> new = recalibrated(rec, "otsu_training_clips")  # rejects the two private clips, keeps the shared one
    >>> new["score"], new["threshold"], new["calibration_clips"], new["diagnostics"]["private_rejected"]
    (1.0, 0.5, 'training', 1.0)
    >>> new["recalibrated_from"]
    {'threshold_rule': 'otsu', 'calibration_clips': 'held_out', 'threshold': 0.0, 'score': 0.5}
    >>> recalibrated(new, "otsu_training_clips") is new  # a run made under it stays as it is
    True
    """
    if alternative not in CALIBRATION_OF_ALTERNATIVE:
        raise ValueError("no calibration %r: one of %s" % (alternative, sorted(CALIBRATION_OF_ALTERNATIVE)))
    threshold = (record.get("threshold_alternatives") or {}).get(alternative)
    if threshold is None:
        raise ValueError("the %s %s seed %s record has no %r threshold to recalibrate with"
                         % (record.get("task"), record.get("method"), record.get("seed"), alternative))
    rule, clips = CALIBRATION_OF_ALTERNATIVE[alternative]
    if (record["threshold_rule"], record.get("calibration_clips", "held_out")) == (rule, clips):
        return record  # run under that calibration already: nothing to redo, nothing to label
    new = dict(record, **summary_at_threshold(record, threshold), threshold=threshold, threshold_rule=rule,
               calibration_clips=clips,
               recalibrated_from={"threshold_rule": record["threshold_rule"],
                                  "calibration_clips": record.get("calibration_clips", "held_out"),
                                  "threshold": record["threshold"], "score": record["score"]})
    rejected = np.asarray(record["records"]["score"], dtype=float) < threshold
    new["diagnostics"] = dict(record.get("diagnostics") or {}, **rejection_rates(rejected, shared_mask(record)))
    return new


def threshold_label(record):
    """The record's rejection rule, and the clips it was calibrated on where they are not the default.

    Example
    -------
    >>> threshold_label({"threshold_rule": "otsu", "calibration_clips": "training"})
    'otsu, training clips'
    >>> threshold_label({"threshold_rule": "otsu"}), threshold_label({"threshold_rule": "none (closed set)"})
    ('otsu', 'none (closed set)')
    >>> threshold_label({"threshold_rule": "otsu", "calibration_clips": "training", "recalibrated_from": {}})
    'otsu, training clips (recalibrated)'
    """
    rule = str(record["threshold_rule"])
    rule += ", training clips" if record.get("calibration_clips") == "training" else ""
    return rule + " (recalibrated)" if "recalibrated_from" in record else rule


def oracle_score(record):
    """The best ``score`` over all rejection thresholds, chosen with the test labels.

    Only for open-set records (those with rejection scores; None for the
    others); an upper bound on what the label-free rule could reach with the
    same model.

    Example
    -------
    >>> rec = {"classes": ["a", "b"], "shared_classes": ["a"],
    ...        "records": {"score": [0.9, 0.8, 0.1, 0.2], "closed_prediction": [0, 1, 0, 0],
    ...                    "truth": [0, 0, 2, 2]}}
    >>> oracle_score(rec)  # reject below 0.8: "a" 1 of 2 right, both private clips unknown
    0.75
    >>> oracle_score(dict(rec, records=dict(rec["records"], score=[None] * 4))) is None  # closed set
    True
    """
    rec = record["records"]
    if not rec["score"] or rec["score"][0] is None:
        return None
    scores = np.asarray(rec["score"], dtype=float)
    return max(score_at_threshold(record, t) for t in np.unique(np.concatenate([scores, [np.inf]])))


def rejection_auroc(record):
    """How well the rejection score ranks shared-class above private target samples.

    0.5 is no better than chance: then no threshold, label-free or oracle, can
    reject private classes without losing shared ones. None for closed-set
    methods, and where the test set lacks shared or private samples.

    Example
    -------
    >>> rec = {"classes": ["a", "b"], "shared_classes": ["a"],
    ...        "records": {"score": [0.9, 0.8, 0.1, 0.2], "closed_prediction": [0, 1, 0, 0],
    ...                    "truth": [0, 0, 2, 2]}}
    >>> rejection_auroc(rec)  # both shared clips score above both private ones
    1.0
    >>> rejection_auroc(dict(rec, records=dict(rec["records"], score=[0.1, 0.2, 0.9, 0.8])))
    0.0
    """
    rec = record["records"]
    if not rec["score"] or rec["score"][0] is None:
        return None
    scores, truth = np.asarray(rec["score"], float), np.asarray(rec["truth"])
    unknown = len(record["classes"])
    if not (truth == unknown).any() or (truth == unknown).all():
        return None
    return auroc(scores[truth != unknown], scores[truth == unknown])


def grouped(records, **match):
    """The records whose keys equal ``match``, by ``(method, task)``.

    Example
    -------
    >>> runs = [{"method": "amls", "task": "M2F", "n_shared": k} for k in (None, None, 4)]
    >>> {key: len(runs) for key, runs in grouped(runs, n_shared=None).items()}
    {('amls', 'M2F'): 2}
    """
    groups = defaultdict(list)
    for r in records:
        if all(r.get(k) == v for k, v in match.items()):
            groups[(r["method"], r["task"])].append(r)
    return groups


def cell(values, show_n=False):
    """``mean_std`` of ``values``, with the number of runs behind it when ``show_n``.

    Example
    -------
    >>> cell([0.5, 0.7]), cell([0.5, 0.7], show_n=True), cell([], show_n=True)
    ('60.0 ± 10.0', '60.0 ± 10.0 (n=2)', 'n/a')
    """
    text = mean_std(values)
    return text + " (n=%d)" % len(values) if show_n and text != "n/a" else text


def table1(records):
    """Markdown: methods x tasks, mean ± std of the score, then the other metrics.

    Where the cells rest on different numbers of runs (a benchmark still
    running), each cell says how many. Open-set methods get oracle-threshold
    and AUROC rows (:func:`oracle_score`, :func:`rejection_auroc`); the
    ``n_shared`` sweep runs are left out.

    Example
    -------
    >>> def run(method, seed, score, rejection=None):
    ...     return {"task": "M2F", "method": method, "seed": seed, "score": score, "h_score": score,
    ...             "accuracy": score, "shared_accuracy": score, "unknown_accuracy": 0.0,
    ...             "checkpoint_selection": "last", "threshold_rule": "otsu" if rejection else "none",
    ...             "classes": ["a", "b"], "shared_classes": ["a"],
    ...             "records": {"score": rejection or [None] * 4, "closed_prediction": [0, 1, 0, 0],
    ...                         "truth": [0, 0, 2, 2]}}
    >>> runs = [run("source_only", 0, 0.2), run("source_only", 1, 0.4),
    ...         run("amls", 0, 0.5, rejection=[0.9, 0.8, 0.1, 0.2])]
    >>> print("\\n".join(table1(runs).splitlines()[2:7]))
    | method | selection | M2F |
    | --- | --- | --- |
    | Source | last, threshold: none | 30.0 ± 10.0 (n=2) |
    | AMLS | last, threshold: otsu | 50.0 ± 0.0 (n=1) |
    | AMLS (oracle threshold) | threshold chosen on target TEST labels | 75.0 ± 0.0 (n=1) |
    """
    main = [r for r in records if not r.get("n_shared")]
    groups = grouped(main)
    tasks = [t for t in TASK_ORDER if any(k[1] == t for k in groups)]
    methods = [m for m in METHOD_ORDER if any(k[0] == m for k in groups)]
    show_n = len({len(groups.get((m, t), [])) for m in methods for t in tasks} - {0}) > 1
    data = sorted({r.get("data", "unknown") for r in main})
    seeds = sorted({r["seed"] for r in main})
    settings = sorted({json.dumps(r.get("settings") or {}, sort_keys=True) for r in main})
    lines = [
        "Target test score (%%): per-class accuracy averaged over the shared classes "
        "and one \"unknown\" class, mean ± std over seeds %s. Data: %s. Settings beyond "
        "the hparams files: %s." % (seeds, ", ".join(data), ", ".join(settings)),
        "",
        "| method | selection | " + " | ".join(tasks) + " |",
        "| --- | --- | " + " | ".join("---" for _ in tasks) + " |",
    ]
    for m in methods:
        sel = {r["checkpoint_selection"] + ", threshold: " + threshold_label(r)
               for g in groups for r in groups[g] if g[0] == m}
        cells = [cell([r["score"] for r in groups.get((m, t), [])], show_n) for t in tasks]
        lines.append("| %s | %s | %s |" % (METHOD_NAMES[m], "; ".join(sorted(sel)), " | ".join(cells)))
    for m in methods:
        oracle = [[oracle_score(r) for r in groups.get((m, t), [])] for t in tasks]
        if any(v is not None for values in oracle for v in values):
            cells = [cell([v for v in values if v is not None], show_n) for values in oracle]
            lines.append("| %s (oracle threshold) | threshold chosen on target TEST labels | %s |"
                         % (METHOD_NAMES[m], " | ".join(cells)))
    auc_rows = []
    for m in methods:
        cells = [[rejection_auroc(r) for r in groups.get((m, t), [])] for t in tasks]
        if any(v is not None for values in cells for v in values):
            auc_rows.append("| %s | %s |" % (METHOD_NAMES[m], " | ".join(
                cell([v for v in values if v is not None], show_n) for values in cells)))
    if auc_rows:
        lines += ["", "AUROC (%) of the rejection score, shared vs private target test samples "
                  "(50 = chance; a diagnostic that reads the test labels):", "",
                  "| method | " + " | ".join(tasks) + " |",
                  "| --- | " + " | ".join("---" for _ in tasks) + " |"] + auc_rows
    for metric in METRICS[1:]:
        lines += ["", "%s (%%), mean ± std:" % metric, "",
                  "| method | " + " | ".join(tasks) + " |",
                  "| --- | " + " | ".join("---" for _ in tasks) + " |"]
        for m in methods:
            cells = [cell([r[metric] for r in groups.get((m, t), [])], show_n) for t in tasks]
            lines.append("| %s | %s |" % (METHOD_NAMES[m], " | ".join(cells)))
    return "\n".join(lines) + "\n"


def diagnostics_table(records):
    """Markdown: AUROC of every rejection signal, rejection rates, AMLS pseudo-label precision.

    All of it reads target labels (reporting only); the text says so. Empty
    without open-set records that carry ``diagnostics``.

    Example
    -------
    >>> rec = {"task": "M2F", "method": "amls", "seed": 0, "classes": ["a", "b"], "shared_classes": ["a"],
    ...        "diagnostics": {"signal_auroc": {"margin": 0.75, "delta_t": 1.0}, "shared_rejected": 0.0,
    ...                        "private_rejected": 0.5,
    ...                        "pseudo_labels": [{"epoch": 1, "admitted": 0.5, "precision": 1.0,
    ...                                           "private_share": None}]}}
    >>> lines = diagnostics_table([rec]).splitlines()
    >>> print(lines[5])
    | M2F | AMLS | 75.0 ± 0.0 | n/a | n/a | 100.0 ± 0.0 | n/a | 0.0 ± 0.0 | 50.0 ± 0.0 |
    >>> print(lines[-1])  # epoch 1: half the clips admitted, all rightly, no private share recorded
    | M2F | 0 | 1: 50/100/- |
    """
    # closed-set and partial tasks have nothing to reject, disjoint ones nothing shared
    main = [r for r in records if not r.get("n_shared") and r.get("diagnostics") and r["shared_classes"]
            and set(r["shared_classes"]) != set(r["classes"]) and not is_partial(r["task"])]
    if not main:
        return ""
    groups = grouped(main)
    tasks = [t for t in TASK_ORDER if any(k[1] == t for k in groups)]
    methods = [m for m in METHOD_ORDER if any(k[0] == m for k in groups)]
    lines = ["", "Diagnostics on the target test set (they READ TARGET LABELS, for reporting only; "
             "mean ± std over seeds). AUROC (%) of each rejection signal, shared vs private clips "
             "(50 = chance), and the share of shared / private clips rejected:", "",
             "| task | method | " + " | ".join(SIGNALS) + " | shared rejected | private rejected |",
             "| --- | --- | " + " | ".join("---" for _ in SIGNALS) + " | --- | --- |"]
    for t in tasks:
        for m in methods:
            runs = [r["diagnostics"] for r in groups.get((m, t), [])]
            if not runs:
                continue
            cells = [mean_std([d["signal_auroc"].get(k) for d in runs]) for k in SIGNALS]
            cells += [mean_std([d.get(k) for d in runs]) for k in ("shared_rejected", "private_rejected")]
            lines.append("| %s | %s | %s |" % (t, METHOD_NAMES[m], " | ".join(cells)))
    pseudo = [(t, r) for t in tasks for r in groups.get(("amls", t), []) if r["diagnostics"].get("pseudo_labels")]
    if pseudo:
        lines += ["", "AMLS pseudo-labels per epoch (adaptation set; reads its labels, for reporting "
                  "only): share of clips admitted / precision of their pseudo-labels / share of "
                  "target-private clips among them, in %:", "",
                  "| task | seed | per epoch |", "| --- | --- | --- |"]
        for t, r in pseudo:
            cells = ["%d: %s" % (e["epoch"], "/".join("-" if e[k] is None else "%.0f" % (100 * e[k])
                     for k in ("admitted", "precision", "private_share")))
                     for e in r["diagnostics"]["pseudo_labels"]]
            lines.append("| %s | %s | %s |" % (t, r["seed"], ", ".join(cells)))
    return "\n".join(lines) + "\n"


CALIBRATIONS = (("otsu", "Otsu, held-out speakers"), ("otsu_training_clips", "Otsu, training clips"),
                ("fixed", "fixed value"))


def calibration_table(records):
    """Markdown: the score under each rejection-threshold calibration, same trained models.

    Each cell rescores the records' test clips at the thresholds of their
    ``threshold_alternatives`` (:func:`score_at_threshold`); empty without them.

    Example
    -------
    >>> rec = {"task": "M2F", "method": "amls", "seed": 0, "score": 0.75, "classes": ["a", "b"],
    ...        "shared_classes": ["a"], "threshold_alternatives": {"otsu": 0.5, "otsu_training_clips": 0.95},
    ...        "records": {"score": [0.9, 0.8, 0.1, 0.2], "closed_prediction": [0, 1, 0, 0],
    ...                    "truth": [0, 0, 2, 2]}}
    >>> print(calibration_table([rec]).splitlines()[-1])  # 0.95 rejects every clip; no fixed value
    | M2F | AMLS | 75.0 ± 0.0 | 75.0 ± 0.0 | 50.0 ± 0.0 | n/a |
    """
    main = [r for r in records if not r.get("n_shared") and r.get("threshold_alternatives")]
    if not main:
        return ""
    groups = grouped(main)
    lines = ["", "Rejection-threshold calibration, same trained models. Score (%), mean ± std: the "
             "run's rule (its threshold_rule), Otsu's split on the held-out adaptation speakers, "
             "Otsu's split on the adaptation clips the networks trained on, and the hparams' fixed "
             "value (UAN: the official w_0 = -0.5; AMLS: delta_0 = 0.5). None reads a target label:",
             "", "| task | method | run's rule | " + " | ".join(n for _, n in CALIBRATIONS) + " |",
             "| --- | --- | --- | " + " | ".join("---" for _ in CALIBRATIONS) + " |"]
    for (m, t) in sorted(groups, key=lambda k: (TASK_ORDER.index(k[1]), METHOD_ORDER.index(k[0]))):
        runs = groups[(m, t)]
        cells = [mean_std([r["score"] for r in runs])]
        for key, _ in CALIBRATIONS:
            cells.append(mean_std([score_at_threshold(r, r["threshold_alternatives"][key]) for r in runs
                                   if r["threshold_alternatives"].get(key) is not None]))
        lines.append("| %s | %s | %s |" % (t, METHOD_NAMES[m], " | ".join(cells)))
    return "\n".join(lines) + "\n"


def scores_by_shared(records, task):
    """``{method: {|C_shared|: [score, ...]}}`` of ``task``, for the methods run at several sizes.

    Example
    -------
    >>> runs = [{"task": "M2F", "method": "amls", "n_shared": k, "shared_classes": [], "score": s}
    ...         for k, s in ((1, 0.2), (1, 0.4), (4, 0.5))]
    >>> runs.append({"task": "M2F", "method": "dann", "n_shared": None, "shared_classes": list("abc"), "score": 0.6})
    >>> {m: dict(v) for m, v in scores_by_shared(runs, "M2F").items()}  # DANN ran at one size only
    {'amls': {1: [0.2, 0.4], 4: [0.5]}}
    """
    by_method = defaultdict(lambda: defaultdict(list))
    for r in (r for r in records if r["task"] == task):
        by_method[r["method"]][r.get("n_shared") or len(r["shared_classes"])].append(r["score"])
    return {m: v for m, v in by_method.items() if len(v) > 1}


def shared_sweep_table(records):
    """Markdown: the score against the number of shared classes (the AMLS paper's Figure 3, right).

    Example
    -------
    >>> runs = [{"task": "M2F", "method": "amls", "n_shared": k, "shared_classes": [], "score": s,
    ...          "seed": 0, "data": "d"} for k, s in ((1, 0.2), (4, 0.5))]
    >>> print(shared_sweep_table(runs).splitlines()[-1])
    | M2F | AMLS | 20.0 ± 0.0 | 50.0 ± 0.0 |
    """
    lines = []
    for task in TASK_ORDER:
        by_method = scores_by_shared(records, task)
        if not by_method:
            continue
        sizes = sorted({k for v in by_method.values() for k in v})
        seeds = sorted({r["seed"] for r in records if r["task"] == task and r["method"] in by_method})
        lines += ["", "Score (%%) against the number of shared classes |C_shared| (the AMLS paper's "
                  "Figure 3, right), mean ± std over seeds %s; each size is its own label partition "
                  "and its own source-only model:" % seeds, "",
                  "| task | method | " + " | ".join("%d shared" % k for k in sizes) + " |",
                  "| --- | --- | " + " | ".join("---" for _ in sizes) + " |"]
        for m in (m for m in METHOD_ORDER if m in by_method):
            show_n = len({len(v) for v in by_method[m].values()}) > 1
            lines.append("| %s | %s | %s |" % (task, METHOD_NAMES[m], " | ".join(
                cell(by_method[m].get(k, []), show_n) for k in sizes)))
    return "\n".join(lines) + "\n" if lines else ""


def relative_change(records, task="M2F"):
    """Per shared class: mean relative change of accuracy vs source only, per method.

    ``{method: {class: change}}`` over the main runs (no ``n_shared``) of
    ``task``; empty without a source-only run.

    Example
    -------
    >>> runs = [{"task": "M2F", "method": m, "shared_classes": ["a", "b"], "per_class": acc}
    ...         for m, acc in (("source_only", {"a": 0.5, "b": 0.8}), ("amls", {"a": 0.75, "b": 0.4}))]
    >>> {m: {c: round(float(v), 2) for c, v in change.items()} for m, change in relative_change(runs).items()}
    {'amls': {'a': 0.5, 'b': -0.5}}
    """
    main = [r for r in records if not r.get("n_shared") and r["task"] == task]
    base = [r for r in main if r["method"] == "source_only"]
    if not base:
        return {}
    shared = base[0]["shared_classes"]
    base_acc = {c: np.mean([r["per_class"].get(c, 0.0) for r in base]) for c in shared}
    out = {}
    for m in METHOD_ORDER[1:]:
        runs = [r for r in main if r["method"] == m]
        if runs:
            out[m] = {c: (np.mean([r["per_class"].get(c, 0.0) for r in runs]) - base_acc[c])
                      / max(base_acc[c], 1e-6) for c in shared}
    return out


def plot_figure3(records, out_dir, task="M2F"):
    """Writes fig3_relative_change.png and fig3_shared_sweep.png (what data exist for).

    Returns the names of the files written: the relative change per shared
    class (:func:`relative_change`) where ``task`` has source-only runs, the
    score against |C_shared| (:func:`scores_by_shared`) where a method ran at
    several sizes.

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> runs = [{"task": "M2F", "method": m, "n_shared": None, "shared_classes": ["a", "b"], "score": 0.5,
    ...          "per_class": {"a": acc, "b": 0.5}} for m, acc in (("source_only", 0.4), ("amls", 0.6))]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     plot_figure3(runs, Path(folder))
    ['fig3_relative_change.png']
    """
    plt = pyplot()
    written = []
    data = ", ".join(sorted({r.get("data", "unknown data") for r in records if r["task"] == task}))
    change = relative_change(records, task)
    if change:
        classes = list(next(iter(change.values())))
        fig, ax = plt.subplots(figsize=(9, 4))
        width = 0.8 / len(change)
        for i, (m, values) in enumerate(change.items()):
            ax.bar(np.arange(len(classes)) + i * width, [100 * values[c] for c in classes],
                   width, label=METHOD_NAMES[m])
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(np.arange(len(classes)) + 0.4 - width / 2, classes, rotation=45)
        ax.set_ylabel("relative change of accuracy vs source (%)")
        written.append(_save(fig, ax, "%s: shared-class accuracy after adaptation (%s)" % (task, data),
                             out_dir / "fig3_relative_change.png"))

    by_method = scores_by_shared(records, task)
    if by_method:
        fig, ax = plt.subplots(figsize=(6, 4))
        for m in METHOD_ORDER:
            if m in by_method:
                ks = sorted(by_method[m])
                ax.errorbar(ks, [100 * np.mean(by_method[m][k]) for k in ks],
                            yerr=[100 * np.std(by_method[m][k]) for k in ks],
                            marker="o", capsize=3, label=METHOD_NAMES[m])
        ax.set_xlabel("|C_shared|")
        ax.set_ylabel("score (%)")
        written.append(_save(fig, ax, "%s: score vs shared classes (%s)" % (task, data),
                             out_dir / "fig3_shared_sweep.png"))
    return written


def pooled_confusion(records):
    """Row-normalised confusion matrix of target test predictions, summed over runs.

    Rows are true labels, columns predictions, both over the source classes plus
    "unknown"; a row with no test samples (a source-private class) is all zero.
    Summing counts before normalising weighs every test sample equally.

    Example
    -------
    >>> runs = [{"labels": ["a", "unknown"], "confusion": [[1, 1], [0, 2]]},
    ...         {"labels": ["a", "unknown"], "confusion": [[2, 0], [1, 1]]}]
    >>> labels, matrix = pooled_confusion(runs)
    >>> labels, matrix.tolist()
    (['a', 'unknown'], [[0.75, 0.25], [0.25, 0.75]])
    """
    labels = records[0]["labels"]
    if any(r["labels"] != labels for r in records):
        raise ValueError("runs with different label sets cannot be pooled: %s"
                         % sorted({tuple(r["labels"]) for r in records}))
    counts = np.sum([np.asarray(r["confusion"], float) for r in records], axis=0)
    totals = counts.sum(axis=1, keepdims=True)
    return labels, np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def plot_confusions(records, out_dir):
    """Writes confusion_<task>.png per task: one panel per method, pooled over seeds.

    Returns the names of the files written (:func:`pooled_confusion` of the
    main runs, those without ``n_shared``).

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> runs = [{"task": "M2F", "method": m, "labels": ["a", "unknown"], "confusion": [[2, 0], [1, 1]]}
    ...         for m in ("source_only", "amls")]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     plot_confusions(runs, Path(folder))
    ['confusion_M2F.png']
    """
    plt = pyplot()
    written = []
    main = [r for r in records if not r.get("n_shared") and "confusion" in r]
    for task in TASK_ORDER:
        groups = {m: [r for r in main if r["task"] == task and r["method"] == m] for m in METHOD_ORDER}
        groups = {m: g for m, g in groups.items() if g}
        if not groups:
            continue
        fig, axes = plt.subplots(1, len(groups), figsize=(3.2 * len(groups), 4.0), squeeze=False)
        for ax, (m, runs) in zip(axes[0], groups.items()):
            labels, matrix = pooled_confusion(runs)
            ax.imshow(matrix, vmin=0, vmax=1, cmap="Blues")
            ticks = np.arange(len(labels))
            ax.set_xticks(ticks, labels, rotation=90, fontsize=6)
            ax.set_yticks(ticks, labels, fontsize=6)
            ax.set_title("%s (n=%d)" % (METHOD_NAMES[m], len(runs)), fontsize=9)
            ax.set_xlabel("predicted", fontsize=8)
        axes[0][0].set_ylabel("true (target test)", fontsize=8)
        data = ", ".join(sorted({r.get("data", "unknown data") for g in groups.values() for r in g}))
        fig.suptitle("%s: row-normalised confusion, pooled over seeds (%s)" % (task, data), fontsize=9)
        written.append(save_figure(fig, out_dir / ("confusion_%s.png" % task)).name)
    return written


def pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend, imported at the first plot, not at start-up.

    Example
    -------
    >>> pyplot().get_backend().lower()
    'agg'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path):
    """Lays ``fig`` out, writes it to ``path`` (120 dpi) and closes it; returns ``path``.

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> fig, ax = pyplot().subplots()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_figure(fig, Path(folder) / "line.png")
    ...     path.name, path.stat().st_size > 1000, pyplot().fignum_exists(fig.number)
    ('line.png', True, False)
    """
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
    return path


def _save(fig, ax, title, path):
    ax.set_title(title, fontsize=10)
    ax.legend()
    return save_figure(fig, path).name


def shown_settings(record):
    """The settings a run was made with beyond its hparams file, less checkpoint selection's.

    Example
    -------
    >>> shown_settings({"settings": {"go_labels": "soft", "checkpoint_selection": "last"}})
    {'go_labels': 'soft'}
    """
    return {k: v for k, v in (record.get("settings") or {}).items()
            if k not in ("checkpoint_selection", "selection_alternatives")}


def settings_label(record):
    """``key=value, ...`` of :func:`shown_settings`, sorted by key; "" for a run at its hparams files.

    Example
    -------
    >>> settings_label({"settings": {"b": 1, "a": "x"}}), settings_label({})
    ('a=x, b=1', '')
    """
    return ", ".join("%s=%s" % kv for kv in sorted(shown_settings(record).items()))


def variant(record):
    """Method name plus the settings a run was made with beyond its hparams file.

    The checkpoint selection settings are left out: the tables show the rule
    in a column of their own.

    Example
    -------
    >>> variant({"method": "dann", "settings": {"go_labels": "rounded"}}), variant({"method": "dann"})
    ('DANN [go_labels=rounded]', 'DANN')
    >>> variant({"method": "pada", "settings": {"checkpoint_selection": "target_entropy"}})
    'PADA'
    """
    label = settings_label(record)
    name = {**METHOD_NAMES, **CLUSTERING_NAMES}[record["method"]]
    return name + (" [%s]" % label if label else "")


def selection_results(record):
    """``(selection rule, accuracy)`` of a run: its own rule, then its ``selection_alternatives``.

    Example
    -------
    >>> selection_results({"checkpoint_selection": "last", "accuracy": 0.7,
    ...                    "selection_alternatives": {"source_domain": {"accuracy": 0.8}}})
    [('last', 0.7), ('source_domain', 0.8)]
    """
    out = [(record.get("checkpoint_selection", "last"), record["accuracy"])]
    for rule, res in (record.get("selection_alternatives") or {}).items():
        out.append((rule, res["accuracy"]))
    return out


PARTIAL_TITLE = ("Partial tasks (the ISRA paper's Table 2 layout; source digits 0-9, target digits 0-4)")


def closed_set_table(records, title="Closed-set tasks (the DANN paper's Table 1 layout)"):
    """The DANN paper's Table 1 layout for closed-set tasks: target accuracy, share of the gap closed.

    Rows are methods (with their settings) and checkpoint selection rules,
    columns tasks; the share of the source-only -> train-on-target gap a
    method closes is in brackets (against each baseline's own selection);
    where cells rest on different numbers of seeds, each says how many.
    The rules of a run's ``selection_alternatives`` get rows of their own.
    Paired rows: a variant against the same method under the most of its
    settings, less at least one (the plain method for a one-setting variant),
    on the same seeds and selection (mean ± std of the per-seed difference),
    e.g. Go-labels on and off, or longer training at the same weight.

    Example
    -------
    >>> recs = [{"task": "MN2UC", "method": m, "seed": 0, "accuracy": a, "classes": list("ab"),
    ...          "shared_classes": list("ab")} for m, a in (("source_only", .5), ("dann", .7), ("oracle", .9))]
    >>> print(closed_set_table(recs).splitlines()[-2])
    | DANN | last | 70.0 ± 0.0 (50%) |

    A variant's gap is measured against the source-only and train-on-target
    runs made under the most of its own settings (those runs' settings a
    subset of its), e.g. longer training against longer-trained baselines:

    >>> longer = {"settings": {"number_of_epochs": 56}}
    >>> recs += [{**r, **longer, "accuracy": a} for r, a in zip(recs, (.6, .8, .8))]
    >>> recs.append({**recs[1], "settings": {"number_of_epochs": 56, "lr": 1}, "accuracy": .7})
    >>> table = closed_set_table(recs).splitlines()
    >>> print("\\n".join(line for line in table if line.startswith("| DANN [") and "paired" not in line))
    | DANN [lr=1, number_of_epochs=56] | last | 70.0 ± 0.0 (50%) |
    | DANN [number_of_epochs=56] | last | 80.0 ± 0.0 (100%) |
    >>> print("\\n".join(line for line in table if line.startswith("| DANN [lr") and "paired" in line))
    | DANN [lr=1, number_of_epochs=56] − DANN [number_of_epochs=56], paired seeds | last | -10.0 ± 0.0 (n=1) |
    """
    closed = [r for r in records if set(r["shared_classes"]) == set(r["classes"])
              or is_partial(r["task"])]  # a partial target is closed too: nothing to reject
    if not closed:
        return ""
    tasks = [t for t in TASK_ORDER if any(r["task"] == t for r in closed)]
    by = defaultdict(dict)
    own = {}  # each variant's own selection rule, for the baselines of the gap
    settings_of = {}
    for r in closed:
        settings_of[variant(r)] = set(shown_settings(r).items())
        for i, (rule, accuracy) in enumerate(selection_results(r)):
            by[(variant(r), rule, r["task"])][r["seed"]] = accuracy
            if i == 0:
                own[variant(r)] = rule
    order = {n: i for i, n in enumerate(METHOD_NAMES[m] for m in METHOD_ORDER)}
    rows = sorted({(v, rule) for v, rule, _ in by},
                  key=lambda vr: (order[vr[0].split(" [")[0]], vr[0], vr[1] != own[vr[0]], vr[1]))
    data = sorted({r.get("data", "unknown") for r in closed})
    lines = ["", "%s: target test accuracy (%%), " % title +
             "mean ± std over seeds %s; in brackets the share of the source-only -> train-on-target "
             "gap closed, from the means. Selection: the label-free rule that picked the checkpoint. "
             "Data: %s." % (sorted({r["seed"] for r in closed}), ", ".join(data)),
             "", "| method | selection | " + " | ".join(tasks) + " |",
             "| --- | --- | " + " | ".join("---" for _ in tasks) + " |"]
    show_n = len({len(seeds) for seeds in by.values()}) > 1  # cells rest on different seed counts

    def closest(name, v, t, rule=None, strict=False):
        """``name``'s variant run on task t under the most of variant v's settings (fewer if strict)."""
        fits = [b for b in sorted(own) if b.split(" [")[0] == name and (b, rule or own[b], t) in by
                and (settings_of[b] < settings_of[v] if strict else settings_of[b] <= settings_of[v])]
        return max(fits, key=lambda b: len(settings_of[b])) if fits else None

    def baseline(method, v, t):  # at that baseline's own selection rule
        """Seed -> accuracy of ``method``'s variant closest to v on task t, or None where it has none."""
        b = closest(METHOD_NAMES[method], v, t)
        return by[(b, own[b], t)] if b else None

    for v, rule in rows:
        cells = []
        for t in tasks:
            values = list(by.get((v, rule, t), {}).values())
            text = cell(values, show_n)
            low, high = baseline("source_only", v, t), baseline("oracle", v, t)
            if values and low and high and not v.startswith(("Source", "Train on")):
                gap = np.mean(list(high.values())) - np.mean(list(low.values()))
                if gap > 0:
                    text += " (%.0f%%)" % (100 * (np.mean(values) - np.mean(list(low.values()))) / gap)
            cells.append(text)
        lines.append("| %s | %s | %s |" % (v, rule, " | ".join(cells)))
    for v, rule in rows:
        # a plain method has no parent: no run's settings are a strict subset of none
        parents = {closest(v.split(" [")[0], v, t, rule, strict=True) for t in tasks if (v, rule, t) in by}
        parents.discard(None)
        if not parents:
            continue
        parent = max(sorted(parents), key=lambda b: len(settings_of[b]))
        cells = []
        for t in tasks:
            a, b = by.get((v, rule, t), {}), by.get((parent, rule, t), {})
            diffs = [a[s] - b[s] for s in sorted(set(a) & set(b))]
            cells.append(cell(diffs, show_n=True) if diffs else "n/a")
        lines.append("| %s − %s, paired seeds | %s | %s |" % (v, parent, rule, " | ".join(cells)))
    return "\n".join(lines) + "\n"


def ablation_table(records):
    """Markdown: each open-set variant (a run with settings beyond its hparams files) beside its defaults, by seed.

    Variants are grouped by task, method and settings; the defaults row holds
    the same task and method's runs without settings, so an ablation reads
    against the runs it changes one knob of (paired by seed: the adaptive runs
    of both start from the same source-only model). The scores read target
    test labels: a reported corpus's ablation chooses nothing, a development
    corpus's is how a knob is chosen.

    Example
    -------
    >>> def run(seed, score, **settings):
    ...     return {"task": "M2F", "method": "amls", "seed": seed, "score": score, "settings": settings}
    >>> runs = [run(0, 0.70), run(1, 0.60), run(0, 0.72, pseudo_rule="fixed"), run(1, 0.66, pseudo_rule="fixed")]
    >>> print("\\n".join(ablation_table(runs).splitlines()[2:]))
    | task | method | setting | seed 0 | seed 1 | mean ± std |
    | --- | --- | --- | --- | --- | --- |
    | M2F | AMLS | defaults | 70.0 | 60.0 | 65.0 ± 5.0 |
    | M2F | AMLS | pseudo_rule=fixed | 72.0 | 66.0 | 69.0 ± 3.0 |
    """
    main = [r for r in records if not r.get("n_shared")]
    varied = {(r["task"], r["method"]) for r in main if shown_settings(r)}
    if not varied:
        return ""
    seeds = sorted({r["seed"] for r in main})
    lines = ["Ablations: score (%) of each variant beside the defaults it changes, by seed (the same "
             "source-only model per seed; reads the target test labels: on the reported corpus it chooses "
             "nothing, on the development corpus it is how a knob is chosen):", "",
             "| task | method | setting | " + " | ".join("seed %d" % s for s in seeds) + " | mean ± std |",
             "| --- | --- | --- | " + " | ".join("---" for _ in seeds) + " | --- |"]
    rows = defaultdict(dict)  # (task, method, settings label) -> {seed: score}
    for r in main:
        if (r["task"], r["method"]) in varied:
            rows[(r["task"], r["method"], settings_label(r))][r["seed"]] = r["score"]
    order = lambda key: (TASK_ORDER.index(key[0]), METHOD_ORDER.index(key[1]), key[2])
    for (task, method, setting) in sorted(rows, key=order):
        by_seed = rows[(task, method, setting)]
        cells = ["%.1f" % (100 * by_seed[s]) if s in by_seed else "" for s in seeds]
        lines.append("| %s | %s | %s | %s | %s |" % (task, METHOD_NAMES[method], setting or "defaults",
                                                     " | ".join(cells), mean_std(list(by_seed.values()))))
    return "\n".join(lines) + "\n"


def tables(records):
    """Every markdown table of a set of records.

    Closed-set tasks (the digit tables) get the DANN Table 1 layout only:
    the open-set tables would repeat their accuracy as a score. A task is
    open-set when any of its runs is (its oracle alone has only the shared
    classes).

    Example
    -------
    >>> digits = [{"task": "MN2UC", "method": m, "seed": 0, "accuracy": a, "classes": list("ab"),
    ...            "shared_classes": list("ab")} for m, a in (("source_only", 0.5), ("dann", 0.7))]
    >>> text = tables(digits)
    >>> "Closed-set tasks" in text, "Target test score" in text  # no open-set table
    (True, False)
    >>> print(text.splitlines()[-1])
    | DANN | last | 70.0 ± 0.0 |
    """
    # by task, not by record: the oracle of an open-set task has only its shared classes
    partial = [r for r in records if is_partial(r["task"])]
    rest = [r for r in records if not is_partial(r["task"])]
    open_tasks = {r["task"] for r in rest if r["shared_classes"] and set(r["shared_classes"]) != set(r["classes"])}
    open_set = [r for r in rest if r["task"] in open_tasks]
    closed = [r for r in rest if r["task"] not in open_tasks and r["shared_classes"]]
    # an open-set variant (--set) goes to the ablation table only, not into the defaults' cells
    defaults = [r for r in open_set if not shown_settings(r)]
    plain = [r for r in records if r["task"] not in open_tasks or not shown_settings(r)]
    return ((table1(defaults) if defaults else "") + shared_sweep_table(defaults) + ablation_table(open_set)
            + closed_set_table(closed) + closed_set_table(partial, PARTIAL_TITLE) + clustering_table(records)
            + shots_table(records) + calibration_table(plain) + diagnostics_table(plain))


# a clustering run with --set number_of_epochs=<pretrain_epochs> trains the autoencoder only
NO_CLUSTERING_EPOCH = "A row whose number_of_epochs equals the recipe's pretrain_epochs runs no clustering epoch: "


def clustering_table(records):
    """The CKM paper's Table 1 layout for heterogeneous tasks: clustering accuracy after Hungarian matching.

    Example
    -------
    >>> recs = [{"task": "MM2MN-het", "method": m, "seed": 0, "accuracy": a, "classes": list("01234"),
    ...          "shared_classes": []} for m, a in (("dec", .5), ("ckm", .6))]
    >>> print(clustering_table(recs).splitlines()[-1])
    | CKM-UDA | last | 60.0 ± 0.0 |
    """
    het = [r for r in records if not r["shared_classes"] and not shots_of(r)]
    if not het:
        return ""
    tasks = [t for t in TASK_ORDER if any(r["task"] == t for r in het)]
    by = defaultdict(dict)
    rules = defaultdict(set)
    for r in het:
        by[(variant(r), r["task"])][r["seed"]] = r["accuracy"]
        rules[variant(r)].add(r.get("checkpoint_selection", "last"))
    show_n = len({len(seeds) for seeds in by.values()}) > 1
    order = {n: i for i, n in enumerate(CLUSTERING_NAMES[m] for m in CLUSTERING_ORDER)}
    rows = sorted({v for v, _ in by}, key=lambda v: (order.get(v.split(" [")[0], len(order)), v))
    shortened = any("number_of_epochs" in (r.get("settings") or {}) for r in het)
    lines = ["", "Heterogeneous tasks (disjoint label sets; the CKM paper's Table 1 layout): target test "
             "accuracy (%%) after the best one-to-one matching of clusters to target labels (Hungarian), "
             "mean ± std over seeds %s. Data: %s.%s" % (
                 sorted({r["seed"] for r in het}), ", ".join(sorted({r.get("data", "unknown") for r in het})),
                 " %sthe pre-trained autoencoder and k-means." % NO_CLUSTERING_EPOCH if shortened else ""),
             "", "| method | selection | " + " | ".join(tasks) + " |",
             "| --- | --- | " + " | ".join("---" for _ in tasks) + " |"]
    for v in rows:
        cells = [cell(list(by.get((v, t), {}).values()), show_n) for t in tasks]
        lines.append("| %s | %s | %s |" % (v, ", ".join(sorted(rules[v])), " | ".join(cells)))
    return "\n".join(lines) + "\n"


def shots_of(record):
    """k of a semi-supervised clustering run (``--set target_shots=k``); 0 for every other run.

    Example
    -------
    >>> shots_of({"settings": {"target_shots": 3}}), shots_of({"settings": None}), shots_of({})
    (3, 0, 0)
    """
    return (record.get("settings") or {}).get("target_shots", 0)


def shots_table(records):
    """The CKM paper's Table 2 layout: semi-supervised runs (``target_shots`` = k) against k.

    A row is a method with its settings beyond ``target_shots``; in the
    clustering recipe ``number_of_epochs`` equal to ``pretrain_epochs`` means no
    clustering epoch: the nearest-class-mean baseline on the pre-trained encoder.

    Example
    -------
    >>> recs = [{"task": "MM2MN-het", "method": "ckm", "seed": 0, "accuracy": a, "shared_classes": [],
    ...          "settings": {"target_shots": k}} for k, a in ((2, .6), (3, .7))]
    >>> print(shots_table(recs).splitlines()[-1])
    | MM2MN-het | CKM-SSDA | 60.0 ± 0.0 | 70.0 ± 0.0 |
    """
    semi = [r for r in records if shots_of(r)]
    if not semi:
        return ""
    shots = sorted({shots_of(r) for r in semi})
    by = defaultdict(lambda: defaultdict(list))
    for r in semi:
        rest = {k: v for k, v in r["settings"].items() if k != "target_shots"}
        name = variant(dict(r, settings=rest)).replace("-UDA", "-SSDA")
        by[(r["task"], name)][shots_of(r)].append(r["accuracy"])
    lines = ["", "Semi-supervised heterogeneous tasks (the CKM paper's Table 2 layout): target test accuracy (%%) "
             "with k labelled target images per class (drawn from the adaptation set; centroid j is class "
             "j, no matching), mean ± std over seeds %s. %sthe nearest class mean on the pre-trained encoder:"
             % (sorted({r["seed"] for r in semi}), NO_CLUSTERING_EPOCH), "",
             "| task | method | " + " | ".join("k = %d" % k for k in shots) + " |",
             "| --- | --- | " + " | ".join("---" for _ in shots) + " |"]
    for (task, name) in sorted(by, key=lambda key: (TASK_ORDER.index(key[0]), key[1])):
        show_n = len({len(v) for v in by[(task, name)].values()}) > 1
        lines.append("| %s | %s | %s |" % (task, name, " | ".join(cell(by[(task, name)].get(k, []), show_n)
                                                                 for k in shots)))
    return "\n".join(lines) + "\n"


def slim(record):
    """A record without its per-clip rejection signals (summarised in ``diagnostics``): the committed form.

    Example
    -------
    >>> slim({"score": 0.5, "records": {"score": [0.1], "signals": {"margin": [0.2]}}})
    {'score': 0.5, 'records': {'score': [0.1]}}
    """
    out = dict(record)
    out["records"] = {k: v for k, v in record["records"].items() if k != "signals"}
    return out


def run_file_name(record):
    """The file name of one run's committed record.

    Example
    -------
    >>> run_file_name({"task": "M2F", "method": "amls", "seed": 2, "n_shared": None})
    'M2F_amls_seed2.json'
    >>> run_file_name({"task": "M2F", "method": "dann", "seed": 0, "n_shared": 4})
    'M2F_shared4_dann_seed0.json'
    """
    shared = "_shared%d" % record["n_shared"] if record.get("n_shared") else ""
    return "%s%s_%s_seed%d.json" % (record["task"], shared, record["method"], int(record["seed"]))


def load_records(paths):
    """The records of ``results.json`` files (lists of records) and of per-run files (one record each).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     results = os.path.join(folder, "results.json")
    ...     single = os.path.join(folder, "M2F_amls_seed2.json")
    ...     _ = write_json_atomic(results, [{"seed": 0}, {"seed": 1}])
    ...     _ = write_json_atomic(single, {"seed": 2})
    ...     load_records([results, single])
    [{'seed': 0}, {'seed': 1}, {'seed': 2}]
    """
    records = []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        records += data if isinstance(data, list) else [data]
    return records


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def replace_block(text, block, path="README"):
    """``text`` with what lies between the results markers replaced by ``block``.

    Example
    -------
    >>> replace_block("a\\n<!-- results:start -->\\nold\\n<!-- results:end -->\\nb", "new")
    'a\\n<!-- results:start -->\\nnew\\n<!-- results:end -->\\nb'
    """
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit("%s has no %s ... %s block to fill: add the two markers where the "
                         "tables go; nothing was written" % (path, README_START, README_END))
    return text[:start + len(README_START)] + "\n" + block.strip("\n") + "\n" + text[end:]


def main(argv=None):
    """``python -m amls_speech.report RECORDS.json...``: the tables of these runs.

    Reads ``results.json`` files of ``amls-bench`` and per-run records.
    ``--save`` writes the records, slimmed, into one file, ``--save_runs`` one
    file per run (the committed form, ``docs/results/``); ``--readme`` puts the
    tables between the results markers of a README, ``--plots`` writes the
    Figure 3 plots and confusion matrices into a folder (linked from the README).
    """
    import argparse
    from pathlib import Path

    p = argparse.ArgumentParser(prog="python -m amls_speech.report", description=main.__doc__)
    p.add_argument("results", nargs="+", help="results.json files of amls-bench or per-run record files")
    p.add_argument("--save", help="write the records, without per-clip signals, to this JSON file")
    p.add_argument("--save_runs", help="write one slimmed record per run into this folder")
    p.add_argument("--readme", help="replace the tables between the results markers of this file")
    p.add_argument("--plots", help="write the plots into this folder")
    p.add_argument("--recalibrate", action="append", default=[], metavar="METHOD=CALIBRATION",
                   help="score METHOD's records at another of their recorded rejection thresholds "
                        "(%s): the same trained models, thresholded as a run with that calibration "
                        "would be; repeatable" % ", ".join(sorted(CALIBRATION_OF_ALTERNATIVE)))
    args = p.parse_args(argv)
    records = load_records(args.results)
    if args.save:
        with open(args.save, "w") as f:
            json.dump([slim(r) for r in records], f, separators=(",", ":"))
    if args.save_runs:
        Path(args.save_runs).mkdir(parents=True, exist_ok=True)
        for r in records:
            write_json_atomic(Path(args.save_runs) / run_file_name(r), slim(r), indent=None)
    for item in args.recalibrate:  # the tables only: saved records stay as their runs wrote them
        method, _, alternative = item.partition("=")
        records = [recalibrated(r, alternative) if r["method"] == method else r for r in records]
    text = tables(records)
    if args.plots:
        folder = Path(args.plots)
        folder.mkdir(parents=True, exist_ok=True)
        plots = plot_figure3(records, folder) + plot_confusions(records, folder)
        if args.readme:
            base = os.path.relpath(folder, Path(args.readme).resolve().parent)
            text += "\n" + "\n".join("![%s](%s)" % (name[:-4], os.path.join(base, name)) for name in plots) + "\n"
    if args.readme:
        readme = Path(args.readme)
        write_text_atomic(readme, replace_block(readme.read_text(), text, readme))
    print(text)


def write_all(records, out_dir):
    """Writes ``out_dir/table.md`` (:func:`tables`), the Figure 3 plots and the confusion matrices.

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> runs = [{"task": "MN2UC", "method": m, "seed": 0, "accuracy": a, "classes": list("ab"),
    ...          "shared_classes": list("ab"), "per_class": {"a": a, "b": a}, "labels": ["a", "b", "unknown"],
    ...          "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 0]]}
    ...         for m, a in (("source_only", 0.5), ("dann", 0.7))]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_all(runs, Path(folder))
    ...     text = (Path(folder) / "table.md").read_text()
    ...     sorted(os.listdir(folder))
    ['confusion_MN2UC.png', 'table.md']
    >>> text.splitlines()[0], text.splitlines()[-1]
    ('# amls-bench results', 'Plots: confusion_MN2UC.png')
    """
    text = "# amls-bench results\n\n" + tables(records)
    plots = plot_figure3(records, out_dir) + plot_confusions(records, out_dir)
    if plots:
        text += "\nPlots: " + ", ".join(plots) + "\n"
    write_text_atomic(out_dir / "table.md", text)


if __name__ == "__main__":
    main()
