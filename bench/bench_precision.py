"""One adaptation training step in float32 vs bfloat16 autocast (CPU), through ``Brain.fit_batch``.

    .venv/bin/python bench/bench_precision.py [--threads N] [--steps 20] [--repeats 5] [--warmup 3]
                                              [--methods amls,dann,source_only] [--json out.json]

For each method (``recipes/gender/hparams/<method>.yaml``, loaded with
``load_hparams``: the recipe's networks, Adam, annealed learning rate, lambda_p,
SpeechBrain's gradient clipping) two Brains are built, one with
``run_opts={"precision": "fp32"}`` and one with ``{"precision": "bf16"}``;
SpeechBrain then wraps ``compute_forward`` + ``compute_objectives`` of
``fit_batch`` in ``torch.autocast("cpu", dtype=torch.bfloat16)`` (the backward
and the optimizer step run outside it, as in a recipe run). A step is
``Brain.fit_batch`` on a ``PairedBatch`` of 32 source + 32 target random 101 x 40
"MFCC" maps (20 source classes), i.e. hooks, forward, losses, backward, clipping
and Adam. No corpus, data loader or checkpoint is involved.

Timing: in each of ``--repeats`` rounds every (method, precision) variant gets a
turn of ``--warmup`` untimed then ``--steps`` timed steps; the fp32 and bf16
turns of a method are adjacent and swap order every round (ABBA...), so a
change in the machine's load hits both alike. Reported: the median ms per step
over all timed steps, steps/s, and GFLOP/s, where the FLOPs of one step are
counted once in float32 with ``torch.utils.flop_counter.FlopCounterMode``
(convolutions and matrix products of forward + backward; the optimizer and
element-wise work are not counted). "bf16 / fp32" is the ratio of medians and
the median of the per-round ratios; only ratios carry over between machines.

Numerics: before timing, the bf16 Brain gets the fp32 Brain's weights, and
both run the forward + losses of the same batch with the same dropout seed;
the table gives the max abs difference of the training loss and of the logits,
and the dtype of the logits under the bf16 Brain (bfloat16 = autocast applied).
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
SHAPE, N_CLASSES = (101, 40), 20


def make_batches(n, batch_size):
    """``n`` PairedBatches of ``batch_size`` source + ``batch_size`` target random maps."""
    from speechbrain.dataio.batch import PaddedBatch

    from amls_speech.data import PairedBatch

    gen = torch.Generator().manual_seed(1234)

    def side(prefix, shift, k):
        return PaddedBatch([{"id": "%s%d_%d" % (prefix, k, i), "feats": torch.randn(*SHAPE, generator=gen) + shift,
                             "label_id": torch.randint(0, N_CLASSES, (1,), generator=gen)}
                            for i in range(batch_size)])

    return [PairedBatch(side("s", 0.0, k), side("t", 0.5, k)) for k in range(n)]


def make_brain(method, precision, work):
    import speechbrain as sb

    from amls_speech.recipe import load_hparams
    from amls_speech.schedules import Progress

    path = os.path.join(ROOT, "recipes", "gender", "hparams", method + ".yaml")
    hparams = load_hparams(path, {"results_root": os.path.join(work, method, precision), "warm_start": False})
    classes = ["c%02d" % i for i in range(N_CLASSES)]
    hparams.update(classes=classes, shared_classes=classes[:10])
    brain = hparams["brain_class"](modules=hparams["modules"], opt_class=hparams["opt_class"], hparams=hparams,
                                   run_opts={"device": "cpu", "precision": precision})
    # what Brain.fit sets up before its first step (tiny_brain does the same)
    hparams["epoch_counter"].current = 1
    brain.progress = Progress(1, 10**6)  # the schedules stay at their start; no effect on cost
    brain.init_optimizers()
    brain.modules.train()
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    return brain


def step(brain, batch):
    brain.step += 1  # as Brain.fit does before each fit_batch
    return brain.fit_batch(batch)


def count_flops(brain, batch):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step(brain, batch)
    return counter.get_total_flops()


def compare(b32, b16, batch):
    """Loss and logits of the same batch and weights, fp32 vs the bf16 Brain's autocast."""
    import speechbrain as sb

    b16.modules.load_state_dict(b32.modules.state_dict())
    res = {}
    for name, brain in (("fp32", b32), ("bf16", b16)):
        torch.manual_seed(0)  # the same dropout masks
        with torch.no_grad(), brain.training_ctx:
            out = brain.compute_forward(batch, sb.Stage.TRAIN)
            loss = brain.compute_objectives(out, batch, sb.Stage.TRAIN)
        res[name] = (loss.float(), out["logits"], loss.dtype)
    (l32, z32, _), (l16, z16, loss_dtype) = res["fp32"], res["bf16"]
    return dict(loss_fp32=float(l32), loss_bf16=float(l16), loss_abs_diff=float((l32 - l16).abs()),
                logits_max_abs_diff=float((z32 - z16.float()).abs().max()), logits_max_abs=float(z32.abs().max()),
                bf16_logits_dtype=str(z16.dtype).replace("torch.", ""), bf16_loss_dtype=str(loss_dtype).replace("torch.", ""))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per turn (default 20)")
    p.add_argument("--repeats", type=int, default=5, help="rounds of turns (default 5)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before each turn (default 3)")
    p.add_argument("--batch_size", type=int, default=32, help="per domain (default 32, as the recipe)")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default: %(default)s)")
    p.add_argument("--json", help="also write the numbers to this file")
    args = p.parse_args(argv)
    methods = args.methods.split(",")
    torch.set_num_threads(args.threads)
    import speechbrain

    work = tempfile.mkdtemp(prefix="bench_precision_")
    try:
        brains = {(m, pr): make_brain(m, pr, work) for m in methods for pr in PRECISIONS}
        batches = make_batches(4, args.batch_size)
        numerics = {m: compare(brains[m, "fp32"], brains[m, "bf16"], batches[0]) for m in methods}
        flops = {m: count_flops(brains[m, "fp32"], batches[0]) for m in methods}
        times = {v: [] for v in brains}
        per_round = {m: [] for m in methods}
        for r in range(args.repeats):
            for m in methods:
                med = {}
                for pr in (PRECISIONS if r % 2 == 0 else PRECISIONS[::-1]):
                    brain = brains[m, pr]
                    for i in range(args.warmup):
                        step(brain, batches[i % len(batches)])
                    turn = []
                    for i in range(args.steps):
                        t0 = time.perf_counter()
                        step(brain, batches[i % len(batches)])
                        turn.append(time.perf_counter() - t0)
                    times[m, pr] += turn
                    med[pr] = statistics.median(turn)
                per_round[m].append(med["bf16"] / med["fp32"])
            print("  round %d: %s" % (r + 1, ", ".join("%s %s %.1f ms" % (m, pr, 1e3 * statistics.median(times[m, pr][-args.steps:]))
                                                      for m in methods for pr in PRECISIONS)), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, methods, times, per_round, flops, numerics, speechbrain.__version__)


def report(args, methods, times, per_round, flops, numerics, sb_version):
    print()
    print("bench_precision: Brain.fit_batch of recipes/gender/hparams/{%s}.yaml, batch %d + %d of %dx%d, "
          "%d rounds x (%d warm-up + %d timed steps) per variant; torch threads %d of %d cores, cpu capability %s, "
          "torch %s, speechbrain %s, python %s"
          % (",".join(methods), args.batch_size, args.batch_size, SHAPE[0], SHAPE[1], args.repeats, args.warmup,
             args.steps, args.threads, os.cpu_count(), torch.backends.cpu.get_cpu_capability(),
             torch.__version__, sb_version, platform.python_version()))
    print()
    print("| method | precision | step ms (median) | min | max | steps/s | GFLOP/step (fp32 count) | GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|")
    rows = {}
    for m in methods:
        for pr in PRECISIONS:
            t = times[m, pr]
            med = statistics.median(t)
            rows[m, pr] = dict(median_ms=1e3 * med, min_ms=1e3 * min(t), max_ms=1e3 * max(t), steps_per_s=1 / med,
                               gflop_per_step=flops[m] / 1e9, gflop_per_s=flops[m] / 1e9 / med, step_s=t)
            s = rows[m, pr]
            print("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.1f |" % (
                m, pr, s["median_ms"], s["min_ms"], s["max_ms"], s["steps_per_s"], s["gflop_per_step"], s["gflop_per_s"]))
    print()
    print("| method | bf16 / fp32 step time (ratio of medians) | median of the %d per-round ratios | bf16 speed-up |"
          % args.repeats)
    print("|---|---|---|---|")
    ratios = {}
    for m in methods:
        ratio = rows[m, "bf16"]["median_ms"] / rows[m, "fp32"]["median_ms"]
        ratios[m] = dict(ratio_of_medians=ratio, median_round_ratio=statistics.median(per_round[m]), rounds=per_round[m])
        print("| %s | %.3f | %.3f | %.2fx |" % (m, ratio, ratios[m]["median_round_ratio"], 1 / ratio))
    print()
    print("| method | loss fp32 | loss bf16 | abs diff loss | max abs diff logits | max abs logit (fp32) | bf16 logits / loss dtype |")
    print("|---|---|---|---|---|---|---|")
    for m in methods:
        n = numerics[m]
        print("| %s | %.5f | %.5f | %.2e | %.2e | %.2f | %s / %s |" % (
            m, n["loss_fp32"], n["loss_bf16"], n["loss_abs_diff"], n["logits_max_abs_diff"], n["logits_max_abs"],
            n["bf16_logits_dtype"], n["bf16_loss_dtype"]))
        if n["bf16_logits_dtype"] != "bfloat16":
            print("WARNING: the bf16 Brain's logits are %s: its training_ctx did not autocast" % n["bf16_logits_dtype"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(args=vars(args), torch=torch.__version__, speechbrain=sb_version,
                           cpu_capability=torch.backends.cpu.get_cpu_capability(),
                           variants={"%s/%s" % k: v for k, v in rows.items()}, ratios=ratios, numerics=numerics), f, indent=2)


if __name__ == "__main__":
    main()
