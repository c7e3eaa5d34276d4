"""Two Python environments (two torch builds) side by side: training-step time and start-up time.

    .venv/bin/python bench/bench_stack.py --python .venv/bin/python --python /path/to/other/bin/python
        [--rounds 3] [--threads 1] [--methods dann] [--json out.json]

The install takes torch 2.13.0+cpu (on this machine's disk) where the
benchmark records of 2026-12-01 were made under torch 2.14.1+cu130 (run on the
CPU): this measures what that change does to speed. Each round runs, for every
environment in turn (the order swaps every round, ABBA...), two things in
fresh processes with ``PYTHONPATH`` at this checkout:

- ``import torch, torchaudio, speechbrain`` and the import of the library
  (``amls_speech.brains``): the start-up every test and every benchmark run
  pays once per process;
- ``bench/bench_precision.py`` (one ``Brain.fit_batch`` of the gender recipe,
  32 + 32 clips, fp32 and bf16 autocast) with ``--repeats 1``.

Reported: per environment the median over rounds of the import seconds and of
each variant's median ms per step, and the ratio of each to the first
environment's. Only ratios carry over to another machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMPORTS = ("import time; t = time.perf_counter(); import torch, torchaudio, speechbrain, amls_speech.brains; "
           "print(time.perf_counter() - t, torch.__version__)")


def run(python, args, env):
    """Runs ``python args`` in this checkout; returns its stdout (raises with its stderr on failure)."""
    done = subprocess.run([python] + args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("%s %s failed:\n%s" % (python, " ".join(args), done.stderr[-2000:]))
    return done.stdout


def one_round(python, args, env):
    """Import seconds, torch version and {variant: median ms per step} of one environment, once."""
    seconds, version = run(python, ["-c", IMPORTS], env).split()
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        run(python, ["bench/bench_precision.py", "--repeats", "1", "--threads", str(args.threads),
                     "--steps", str(args.steps), "--methods", args.methods, "--json", f.name], env)
        with open(f.name) as written:
            variants = json.load(written)["variants"]
    return float(seconds), version, {k: v["median_ms"] for k, v in variants.items()}


def main(argv=None):
    """Command line (see the module docstring): ``--rounds`` rounds of :func:`one_round`, then the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--python", action="append", required=True, help="an environment's python (give two or more)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--methods", default="dann")
    p.add_argument("--json", help="also write the numbers to this file")
    args = p.parse_args(argv)
    if len(args.python) < 2:
        p.error("give --python at least twice")
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS=str(args.threads))
    rows = {py: {"imports": [], "steps": {}} for py in args.python}
    for r in range(args.rounds):
        for py in (args.python if r % 2 == 0 else args.python[::-1]):
            seconds, version, steps = one_round(py, args, env)
            rows[py]["torch"] = version
            rows[py]["imports"].append(seconds)
            for k, ms in steps.items():
                rows[py]["steps"].setdefault(k, []).append(ms)
            print("round %d %s (torch %s): imports %.2f s, %s" % (
                r + 1, py, version, seconds, ", ".join("%s %.1f ms" % kv for kv in steps.items())), flush=True)
    base = rows[args.python[0]]
    variants = sorted(base["steps"])
    med = statistics.median
    print("\nbench_stack: %d rounds (ABBA), torch threads %d, bench_precision --steps %d --methods %s"
          % (args.rounds, args.threads, args.steps, args.methods))
    print("| environment | torch | imports (s) | " + " | ".join("%s ms/step" % v for v in variants) + " |")
    print("|---|---|---|" + "---|" * len(variants))
    for py, row in rows.items():
        cells = ["%.2f (%.2fx)" % (med(row["imports"]), med(row["imports"]) / med(base["imports"]))]
        cells += ["%.1f (%.2fx)" % (med(row["steps"][v]), med(row["steps"][v]) / med(base["steps"][v]))
                  for v in variants]
        print("| %s | %s | %s |" % (py, row["torch"], " | ".join(cells)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
