"""Every speed benchmark of bench/, one after the other; the headline figures go to bench/results.json.

    .venv/bin/python bench/run_all.py [--out bench/results.json] [--quick]

Runs ``bench_features.py`` (MFCC vs librosa), ``bench_training.py`` (one DANN
epoch, Brain vs a bare loop, lock-step) and ``bench_prep.py`` (Speech Commands
preparation on fake trees up to 100,000 files), prints their tables, and
writes:

mfcc_speedup_vs_librosa      librosa's time per clip / ours (one clip per call, 1 thread)
epoch_overhead_vs_bare_loop  brain epoch time / bare-loop epoch time - 1 (epochs 2+, a fraction)
train_steps_per_second       DANN training steps (32 + 32 items) per second through Brain.fit
train_gflops_per_second      those steps times the FLOPs of one step (forward + backward,
                             counted by torch.utils.flop_counter on the same networks)
prep_files_per_second        prepare_speech_commands on the largest tree
prep_peak_memory_mb          its peak RSS; ``prep`` lists every size, to show it stays flat

Only ratios carry over to another machine; the absolute figures are this
machine's, under whatever else it was running (``load_average_at_start`` is recorded).
"""

import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from amls_speech.atomic import write_json_atomic  # noqa: E402
from amls_speech.cpu import cpu_model  # noqa: E402
import bench_features  # noqa: E402
import bench_prep  # noqa: E402
import bench_training  # noqa: E402


def flops_per_training_step(batch_size):
    """FLOPs of one DANN step (forward and backward) on the networks bench_training trains."""
    from torch.utils.flop_counter import FlopCounterMode

    from amls_speech.losses import domain_adversarial_loss
    from amls_speech.nnet import grad_reverse
    from amls_speech.recipe import load_hparams

    hp = load_hparams(bench_training.HPARAMS, {"checkpointer": None, "train_logger": None})
    m = hp["modules"]
    x = torch.randn(2 * batch_size, *bench_training.SHAPE)
    y = torch.randint(0, bench_training.N_CLASSES, (batch_size,))
    with FlopCounterMode(display=False) as counter:
        z = m["extractor"](m["normalize"](x, torch.ones(len(x)), epoch=1))
        d = m["discriminator"](grad_reverse(z, 1.0))
        loss = torch.nn.functional.cross_entropy(m["classifier"](z[:batch_size]), y)
        loss = loss + domain_adversarial_loss(d[:batch_size], d[batch_size:])
        loss.backward()
    return counter.get_total_flops()


def main(argv=None):
    """Runs the three benchmarks, writes the headline figures to ``--out`` (JSON) and returns them."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(HERE, "results.json"))
    p.add_argument("--quick", action="store_true", help="smaller runs (a check that it all works)")
    args = p.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load = os.getloadavg()

    print("== bench_features", flush=True)
    feats = bench_features.main(["--n", "40" if args.quick else "200", "--repeats", "2" if args.quick else "5",
                                 "--n_multi", "10" if args.quick else "20"])
    print("\n== bench_training", flush=True)
    train = bench_training.main(["--n", "320", "--epochs", "2" if args.quick else "3"])
    print("\n== bench_prep", flush=True)
    prep = bench_prep.main(["--sizes", "2000,6000" if args.quick else "10000,30000,100000"])

    brain, bare = train["stats"]["brain"], train["stats"]["bare"]
    steps_per_s = 1e3 / brain["step"]
    flops = flops_per_training_step(train["samples_per_step"] // 2)
    largest = prep["sizes"][-1]
    results = {
        "mfcc_speedup_vs_librosa": feats["ratios"]["librosa / ours (one clip per call)"],
        "epoch_overhead_vs_bare_loop": brain["steady"] / bare["steady"] - 1,
        "train_steps_per_second": steps_per_s,
        "train_gflops_per_second": flops * steps_per_s / 1e9,
        "train_gflops_per_step": flops / 1e9,
        "prep_files_per_second": largest["files_per_second"],
        "prep_peak_memory_mb": largest["peak_mb"],
        "prep": prep["sizes"],
        "prep_import_floor_mb": prep["floor_mb"],
        "conditions": {"started": started, "quick": args.quick, "cpu_count": os.cpu_count(),
                       "torch_threads_training": os.cpu_count(), "load_average_at_start": load,
                       "cpu": cpu_model(), "torch": torch.__version__},
    }
    write_json_atomic(args.out, results)  # a reader never sees half a file
    print("\n" + json.dumps({k: v for k, v in results.items() if not isinstance(v, (dict, list))}, indent=2))
    print("written to %s" % args.out)
    return results


if __name__ == "__main__":
    main()
