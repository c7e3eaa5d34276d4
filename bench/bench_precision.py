"""One adaptation training step, float32 vs bfloat16 autocast and NCHW vs NHWC memory (CPU), through ``Brain.fit_batch``.

    .venv/bin/python bench/bench_precision.py [--threads N] [--steps 20] [--repeats 5] [--warmup 3]
                                              [--methods amls,dann,source_only] [--precisions fp32,bf16]
                                              [--formats nchw,nhwc] [--json out.json]

For each method (``recipes/gender/hparams/<method>.yaml``, loaded with
``load_hparams``: the recipe's networks, Adam, annealed learning rate, lambda_p,
SpeechBrain's gradient clipping) one Brain is built per variant, a precision
(``run_opts={"precision": ...}``; under bf16 SpeechBrain wraps
``compute_forward`` + ``compute_objectives`` of ``fit_batch`` in
``torch.autocast("cpu", dtype=torch.bfloat16)``, the backward and the
optimizer step run outside it, as in a recipe run) and a memory format of the
convolution weights (``nchw``: PyTorch's default; ``nhwc``: ``channels_last``,
what ``AdaptationBrain.apply_memory_format`` does by default). A step is
``Brain.fit_batch`` on a ``PairedBatch`` of 32 source + 32 target random 101 x 40
"MFCC" maps (20 source classes), i.e. hooks, forward, losses, backward, clipping
and Adam. No corpus, data loader or checkpoint is involved.

Timing: in each of ``--repeats`` rounds every variant of a method gets a turn
of ``--warmup`` untimed then ``--steps`` timed steps; the turns of a method are
adjacent and reverse their order every round (ABBA...), so a change in the
machine's load hits all alike. Reported: the median ms per step over all timed
steps, steps/s, and GFLOP/s, where the FLOPs of one step are counted once in
float32 with ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and
matrix products of forward + backward; the optimizer and element-wise work are
not counted). Each variant's time over the first one's (fp32/nchw by default)
is the ratio of medians and the median of the per-round ratios; only ratios
carry over between machines.

Numerics: before timing, every variant gets the first variant's weights, and
all run the forward + losses of the same batch with the same dropout seed; the
table gives the max abs difference of the training loss and of the logits from
the first variant's, and the dtype of the logits (bfloat16 = autocast applied).
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ("amls", "dann", "source_only")
PRECISIONS = ("fp32", "bf16")
FORMATS = ("nchw", "nhwc")
SHAPE, N_CLASSES = (101, 40), 20


def make_batches(n, batch_size):
    """``n`` PairedBatches of ``batch_size`` source + ``batch_size`` target random maps."""
    from speechbrain.dataio.batch import PaddedBatch

    from amls_speech.data import PairedBatch

    gen = torch.Generator().manual_seed(1234)

    def side(prefix, shift, k):
        """One domain's PaddedBatch: ``batch_size`` random maps plus ``shift``, IDs ``<prefix><k>_<i>``."""
        return PaddedBatch([{"id": "%s%d_%d" % (prefix, k, i), "feats": torch.randn(*SHAPE, generator=gen) + shift,
                             "label_id": torch.randint(0, N_CLASSES, (1,), generator=gen)}
                            for i in range(batch_size)])

    return [PairedBatch(side("s", 0.0, k), side("t", 0.5, k)) for k in range(n)]


def make_brain(method, precision, work, memory_format="nchw"):
    """The gender recipe's CPU Brain of ``method``, set up as ``Brain.fit`` leaves it before its first step.

    Arguments
    ---------
    method : str
        ``recipes/gender/hparams/<method>.yaml``.
    precision : str
        ``fp32`` or ``bf16`` (SpeechBrain's ``precision`` run option).
    work : str
        Temporary folder holding the ``results_root`` of every Brain.
    memory_format : str
        ``nchw``, or ``nhwc`` for ``channels_last`` convolution weights.
    """
    import speechbrain as sb

    from amls_speech.recipe import load_hparams
    from amls_speech.schedules import Progress

    path = os.path.join(ROOT, "recipes", "gender", "hparams", method + ".yaml")
    hparams = load_hparams(path, {"results_root": os.path.join(work, method, precision, memory_format),
                                  "warm_start": False, "channels_last": memory_format == "nhwc"})
    classes = ["c%02d" % i for i in range(N_CLASSES)]
    hparams.update(classes=classes, shared_classes=classes[:10])
    brain = hparams["brain_class"](modules=hparams["modules"], opt_class=hparams["opt_class"], hparams=hparams,
                                   run_opts={"device": "cpu", "precision": precision})
    # what Brain.fit sets up before its first step (tiny_brain does the same)
    hparams["epoch_counter"].current = 1
    brain.progress = Progress(1, 10**6)  # the schedules stay at their start; no effect on cost
    brain.apply_memory_format()
    brain.init_optimizers()
    brain.modules.train()
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    return brain


def step(brain, batch):
    """One training step: count it, as ``Brain.fit`` does, then ``fit_batch``; returns the loss."""
    brain.step += 1  # as Brain.fit does before each fit_batch
    return brain.fit_batch(batch)


def count_flops(brain, batch):
    """FLOPs of one training step (convolutions and matrix products, forward + backward); it runs the step."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step(brain, batch)
    return counter.get_total_flops()


def compare(brains, batch):
    """Loss and logits of the same batch and weights under each variant's Brain, against the first's."""
    import speechbrain as sb

    first = brains[0]
    res = []
    for brain in brains:
        brain.modules.load_state_dict(first.modules.state_dict())
        torch.manual_seed(0)  # the same dropout masks
        with torch.no_grad(), brain.training_ctx:
            out = brain.compute_forward(batch, sb.Stage.TRAIN)
            loss = brain.compute_objectives(out, batch, sb.Stage.TRAIN)
        res.append((loss.float(), out["logits"], loss.dtype))
    (l0, z0, _) = res[0]
    return [dict(loss=float(loss), loss_abs_diff=float((l0 - loss).abs()),
                 logits_max_abs_diff=float((z0.float() - z.float()).abs().max()), logits_max_abs=float(z0.abs().max()),
                 logits_dtype=str(z.dtype).replace("torch.", ""), loss_dtype=str(dtype).replace("torch.", ""))
            for loss, z, dtype in res]


def label(variant):
    """``"<precision>/<format>"`` of a ``(precision, format)`` variant."""
    return "%s/%s" % variant


def main(argv=None):
    """Command line (see the module docstring): build, compare and time every variant, then :func:`report`."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per turn (default 20)")
    p.add_argument("--repeats", type=int, default=5, help="rounds of turns (default 5)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before each turn (default 3)")
    p.add_argument("--batch_size", type=int, default=32, help="per domain (default 32, as the recipe)")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default: %(default)s)")
    p.add_argument("--precisions", default=",".join(PRECISIONS), help="of %s (default: %%(default)s)" % (PRECISIONS,))
    p.add_argument("--formats", default=",".join(FORMATS), help="of %s (default: %%(default)s)" % (FORMATS,))
    p.add_argument("--json", help="also write the numbers to this file")
    args = p.parse_args(argv)
    methods = args.methods.split(",")
    variants = [(pr, fm) for pr in args.precisions.split(",") for fm in args.formats.split(",")]
    for pr, fm in variants:
        if pr not in PRECISIONS or fm not in FORMATS:
            p.error("precisions are among %s, formats among %s; got %s/%s" % (PRECISIONS, FORMATS, pr, fm))
    torch.set_num_threads(args.threads)
    import speechbrain

    work = tempfile.mkdtemp(prefix="bench_precision_")
    try:
        brains = {(m, v): make_brain(m, v[0], work, v[1]) for m in methods for v in variants}
        batches = make_batches(4, args.batch_size)
        numerics = {m: compare([brains[m, v] for v in variants], batches[0]) for m in methods}
        flops = {m: count_flops(brains[m, variants[0]], batches[0]) for m in methods}
        times = {key: [] for key in brains}
        per_round = {key: [] for key in brains}  # a variant's median over the first variant's, per round
        for r in range(args.repeats):
            for m in methods:
                med = {}
                for v in (variants if r % 2 == 0 else variants[::-1]):
                    brain = brains[m, v]
                    for i in range(args.warmup):
                        step(brain, batches[i % len(batches)])
                    turn = []
                    for i in range(args.steps):
                        t0 = time.perf_counter()
                        step(brain, batches[i % len(batches)])
                        turn.append(time.perf_counter() - t0)
                    times[m, v] += turn
                    med[v] = statistics.median(turn)
                for v in variants:
                    per_round[m, v].append(med[v] / med[variants[0]])
            print("  round %d: %s" % (r + 1, ", ".join("%s %s %.1f ms" % (m, label(v), 1e3 * statistics.median(times[m, v][-args.steps:]))
                                                      for m in methods for v in variants)), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, methods, variants, times, per_round, flops, numerics, speechbrain.__version__)


def report(args, methods, variants, times, per_round, flops, numerics, sb_version):
    """Print the tables of step times, ratios and numerics; also write them to ``--json`` when given."""
    print()
    print("bench_precision: Brain.fit_batch of recipes/gender/hparams/{%s}.yaml, batch %d + %d of %dx%d, "
          "%d rounds x (%d warm-up + %d timed steps) per variant; torch threads %d of %d cores, cpu capability %s, "
          "torch %s, speechbrain %s, python %s"
          % (",".join(methods), args.batch_size, args.batch_size, SHAPE[0], SHAPE[1], args.repeats, args.warmup,
             args.steps, args.threads, os.cpu_count(), torch.backends.cpu.get_cpu_capability(),
             torch.__version__, sb_version, platform.python_version()))
    print()
    print("| method | precision/memory | step ms (median) | min | max | steps/s | GFLOP/step (fp32 count) | GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|")
    rows = {}
    for m in methods:
        for v in variants:
            t = times[m, v]
            med = statistics.median(t)
            rows[m, v] = dict(median_ms=1e3 * med, min_ms=1e3 * min(t), max_ms=1e3 * max(t), steps_per_s=1 / med,
                              gflop_per_step=flops[m] / 1e9, gflop_per_s=flops[m] / 1e9 / med, step_s=t)
            s = rows[m, v]
            print("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.1f |" % (
                m, label(v), s["median_ms"], s["min_ms"], s["max_ms"], s["steps_per_s"], s["gflop_per_step"],
                s["gflop_per_s"]))
    print()
    print("| method | variant | step time / %s's (ratio of medians) | median of the %d per-round ratios | speed-up |"
          % (label(variants[0]), args.repeats))
    print("|---|---|---|---|---|")
    ratios = {}
    for m in methods:
        for v in variants[1:]:
            ratio = rows[m, v]["median_ms"] / rows[m, variants[0]]["median_ms"]
            ratios["%s/%s" % (m, label(v))] = dict(ratio_of_medians=ratio, median_round_ratio=statistics.median(per_round[m, v]),
                                                  rounds=per_round[m, v])
            print("| %s | %s | %.3f | %.3f | %.2fx |" % (m, label(v), ratio, statistics.median(per_round[m, v]), 1 / ratio))
    print()
    print("| method | variant | loss | abs diff loss | max abs diff logits | max abs logit (%s) | logits / loss dtype |"
          % label(variants[0]))
    print("|---|---|---|---|---|---|---|")
    for m in methods:
        for v, n in zip(variants, numerics[m]):
            print("| %s | %s | %.5f | %.2e | %.2e | %.2f | %s / %s |" % (
                m, label(v), n["loss"], n["loss_abs_diff"], n["logits_max_abs_diff"], n["logits_max_abs"],
                n["logits_dtype"], n["loss_dtype"]))
            if v[0] == "bf16" and n["logits_dtype"] != "bfloat16":
                print("WARNING: the bf16 Brain's logits are %s: its training_ctx did not autocast" % n["logits_dtype"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(args=vars(args), torch=torch.__version__, speechbrain=sb_version,
                           cpu_capability=torch.backends.cpu.get_cpu_capability(),
                           variants={"%s/%s" % (m, label(v)): r for (m, v), r in rows.items()}, ratios=ratios,
                           numerics={m: dict(zip(map(label, variants), n)) for m, n in numerics.items()}), f, indent=2)


if __name__ == "__main__":
    main()
