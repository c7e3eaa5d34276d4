"""One DANN training epoch: our stack (``Brain.fit``) vs a bare PyTorch loop doing the same maths.

    .venv/bin/python bench/bench_training.py [--n 320] [--epochs 3] [--repeats 1] [--threads N]
                                             [--device cpu|cuda]

Both variants train the networks of ``recipes/gender/hparams/dann.yaml``
(loaded with ``load_hparams``, so both start from the same seeded weights) on
the same synthetic in-memory data: ``--n`` source and ``--n`` target items of
random 101 x 40 "MFCCs" (20 source classes, the target shifted by +0.5).

brain  The recipe's path: manifests -> ``make_dataset`` (a ``DynamicItemDataset``
       whose ``feats`` item looks the precomputed tensor up instead of reading a
       wav) -> ``PairedDataset`` -> ``DANN.fit`` with the recipe's loader options
       (``PairedBatch`` collate, ``PairedDataset.sampler()``, 32 + 32 per
       batch, tqdm progress bar as in a recipe run), Adam, the annealed learning
       rate, lambda_p, ``InputNormalization``, SpeechBrain's gradient clipping
       (max_grad_norm 5) and the recipe's checkpointer (no validation set, so
       no checkpoint is written).
bare   The same modules, optimizer, schedules, GRL, losses, normalisation and
       clipping, written as a plain loop over the pre-stacked tensors, which it
       indexes with the same batch order as the Brain's sampler.

Lock-step: each variant runs in its own process (clean peak RSS), both
processes are alive at once, but only one computes at a time: after every
training step (and before each epoch, each data-path pass and the setup) a
process blocks until the parent hands it the turn, and the parent alternates
between them. A change in the machine's load therefore hits both variants
alike; the time spent blocked is not counted. ``--repeats`` runs more pairs,
alternating which variant moves first.

Figures: "step ms" is the median over epochs 2.. of one training step (data
fetch, hooks, forward, backward, clipping, optimizer: the interval between the
ends of two steps); it is the headline ratio. Epoch 1 also accumulates the
normalisation statistics and warms the allocator and is shown apart. "data
path" times the data side alone: the recipe's DataLoader with ``PairedBatch``
collate, batches moved to the device, vs indexing the stacked tensors.
"setup" is imports of the variant's code path, hparams, datasets, and (for
the Brain) ``fit`` up to its first epoch. Both variants reseed the global RNG
before every step, which makes their dropout masks, hence their losses, equal:
the "mean loss" columns check that the two loops compute the same thing.
"""

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HPARAMS = os.path.join(ROOT, "recipes", "gender", "hparams", "dann.yaml")
N_CLASSES = 20
SHAPE = (101, 40)
STEP_SEED = 777


# ------------------------------------------------------------------ helpers
def rss_mb():
    """Current resident set size (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb():
    """Peak resident set size of this process so far, in MiB (Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def minor_faults():
    """Minor page faults so far: a process whose allocator keeps handing big buffers
    back to the kernel pays one per fresh 4 KiB page of every activation."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def synchronize(device):
    """Wait for the work queued on a CUDA device, so that a time reading includes it; nothing on CPU."""
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


class Clock:
    """A stopwatch that stops while this process waits for its turn.

    ``turn()`` tells the parent (a ``TURN`` line on stdout) that this process
    may be paused, and blocks until the parent answers on stdin. Without a
    parent (``enabled=False``) it is a plain ``perf_counter``.
    """

    def __init__(self, enabled, device="cpu"):
        self.enabled, self.device, self.blocked = enabled, device, 0.0

    def turn(self):
        """Hand the parent the turn and block until it answers; the wait is not counted."""
        if not self.enabled:
            return
        synchronize(self.device)
        t0 = time.perf_counter()
        sys.stdout.write("TURN\n")
        sys.stdout.flush()
        if not sys.stdin.readline():
            raise SystemExit("the parent process went away")
        self.blocked += time.perf_counter() - t0

    def now(self):
        """Seconds on the stopwatch: ``perf_counter`` (after a device sync) less the time spent blocked."""
        synchronize(self.device)
        return time.perf_counter() - self.blocked


def time_data_path(clock, epoch_fn, steps, passes=5):
    """Median ms per step of ``passes`` passes of the data path alone (no model)."""
    per_step = []
    for _ in range(passes):
        clock.turn()
        t0 = clock.now()
        epoch_fn()
        per_step.append((clock.now() - t0) / steps * 1e3)
    return statistics.median(per_step)


def make_data(n):
    """The same random features and labels in every process."""
    gen = torch.Generator().manual_seed(1234)
    xs = torch.randn(n, *SHAPE, generator=gen)
    xt = torch.randn(n, *SHAPE, generator=gen) + 0.5
    ys = torch.randint(0, N_CLASSES, (n,), generator=gen)
    return xs, ys, xt


def load(args, work, result):
    """The recipe's hparams; records the file's hash and the model size in ``result``."""
    from amls_speech.recipe import load_hparams

    with open(HPARAMS, "rb") as f:
        result["hparams_sha1"] = hashlib.sha1(f.read()).hexdigest()[:10]

    overrides = {
        "results_root": os.path.join(work, "results"),  # logs, checkpoints, cache: all in work
        "number_of_epochs": args.epochs,
        "batch_size": args.batch_size,
        "warm_start": False,  # both loops start from the same seeded weights
    }
    hparams = load_hparams(HPARAMS, overrides)
    result["parameters"] = sum(p.numel() for m in hparams["modules"].values() for p in m.parameters())
    return hparams


# ------------------------------------------------------------------ variants
def run_brain(args, work, result, clock):
    """The ``brain`` variant: the recipe's datasets and ``DANN.fit``, then its data path; fills ``result``."""
    t_setup = clock.now()
    import speechbrain as sb

    from amls_speech.data import LabelEncoding, PairedBatch, PairedDataset, make_dataset

    hparams = load(args, work, result)
    xs, ys, xt = make_data(args.n)
    classes = ["c%02d" % i for i in range(N_CLASSES)]

    # Manifests whose "wav" files exist (empty) so that check_manifest passes;
    # the feature function returns the precomputed tensor of each path.
    table = {}

    def manifest(name, feats, labels):
        """Writes ``<name>.csv``, one empty wav per item mapped to its tensor in ``table``; returns its path.

        Without ``labels`` (the target) every row is labelled ``c00``.
        """
        folder = os.path.join(work, name)
        os.makedirs(folder)
        path = os.path.join(work, name + ".csv")
        with open(path, "w") as f:
            f.write("ID,wav,duration,label,label_set,domain,speaker\n")
            for i in range(len(feats)):
                wav = os.path.join(folder, "%05d.wav" % i)
                open(wav, "w").close()
                table[wav] = feats[i]
                label = classes[int(labels[i])] if labels is not None else "c00"
                f.write("%s_%d,%s,1.0,%s,%s,%s,spk%d\n" % (
                    name, i, wav, label, "shared" if label < "c10" else "private", name, i % 10))
        return path

    source_csv = manifest("source", xs, ys)
    target_csv = manifest("target", xt, None)
    encoding = LabelEncoding(classes)
    source = make_dataset(source_csv, table.__getitem__, encoding)
    target = make_dataset(target_csv, table.__getitem__, None)
    hparams.update(classes=classes, shared_classes=classes[:10])
    train_set = PairedDataset(source, target, seed=hparams["seed"])

    times, losses, step_times = [], [], []
    device = args.device

    class TimedBrain(hparams["brain_class"]):
        """The recipe's Brain whose hooks also take turns, time the steps and epochs and record the losses."""

        def on_stage_start(self, stage, epoch=None):
            """Before a training epoch, also waits for the turn and starts the epoch's clock."""
            if stage == sb.Stage.TRAIN:
                if epoch == 1:
                    result.update(setup_s=clock.now() - t_setup, rss_before_mb=rss_mb())
                clock.turn()
                if epoch == 2:
                    result["faults_before"] = minor_faults()
                self._t0 = self._last = clock.now()
                self._losses = []
            super().on_stage_start(stage, epoch)

        def on_fit_batch_start(self, batch, should_step):
            """Also reseeds the global RNG as the bare loop does, so that the dropout masks are the same."""
            torch.manual_seed(STEP_SEED + (self.epoch - 1) * 100003 + self.step)  # as the bare loop
            super().on_fit_batch_start(batch, should_step)

        def on_fit_batch_end(self, batch, outputs, loss, should_step):
            """Records the loss and (epochs 2+) the step time, then hands over the turn."""
            self._losses.append(loss.detach())
            if self.epoch >= 2:
                step_times.append(clock.now() - self._last)
            clock.turn()
            self._last = clock.now()

        def on_stage_end(self, stage, stage_loss, epoch=None):
            """After a training epoch, also records its time and mean loss."""
            super().on_stage_end(stage, stage_loss, epoch)
            if stage == sb.Stage.TRAIN:
                times.append(clock.now() - self._t0)
                losses.append(float(torch.stack(self._losses).mean()))

    brain = TimedBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": device},
        checkpointer=hparams["checkpointer"],
    )
    brain.fit(hparams["epoch_counter"], train_set, None,
              train_loader_kwargs=hparams["train_dataloader_opts"])
    result.update(epoch_s=times, step_s=step_times, mean_loss=losses, steps=brain.progress.steps_per_epoch,
                  faults_per_step=(minor_faults() - result["faults_before"])
                  / ((args.epochs - 1) * brain.progress.steps_per_epoch))

    # The data path alone: the recipe's loader, batches moved to the device.
    opts = {k: v for k, v in hparams["train_dataloader_opts"].items() if k != "shuffle"}
    loader = brain.make_dataloader(train_set, sb.Stage.TRAIN, ckpt_prefix=None, sampler=train_set.sampler(),
                                   collate_fn=PairedBatch.collate, **opts)

    def data_epoch():
        """One pass of the recipe's loader, each batch moved to the device."""
        for batch in loader:
            batch.to(device)

    result["data_ms_per_step"] = time_data_path(clock, data_epoch, result["steps"])


def run_bare(args, work, result, clock):
    """The ``bare`` variant: the same maths as a plain loop over stacked tensors, then its data path."""
    t_setup = clock.now()
    import torch.nn.functional as F

    from amls_speech.losses import domain_adversarial_loss
    from amls_speech.nnet import grad_reverse
    from amls_speech.sampling import PairedSampler
    from amls_speech.schedules import Progress, dann_lambda

    hparams = load(args, work, result)
    device = torch.device(args.device)
    xs, ys, xt = (t.to(device) for t in make_data(args.n))
    n, batch = args.n, args.batch_size
    # the pairs of PairedDataset.sampler(), which the Brain set_epoch's at every epoch
    pair_sampler = PairedSampler(n, n, seed=hparams["seed"])

    def epoch_pairs(epoch):
        """The ``(source, target)`` index pairs of ``epoch``, in the Brain's sampler order, on the device."""
        pair_sampler.set_epoch(epoch)
        return torch.tensor(list(pair_sampler)).to(device)

    modules = torch.nn.ModuleDict(hparams["modules"]).to(device)  # same order as Brain.modules
    normalize, extractor = modules["normalize"], modules["extractor"]
    classifier, discriminator = modules["classifier"], modules["discriminator"]
    params = list(modules.parameters())
    optimizer = hparams["opt_class"](params)
    annealing, gamma = hparams["lr_annealing"], hparams["grl_gamma"]
    steps = n // batch  # drop_last
    progress = Progress(args.epochs, steps)

    times, losses, step_times = [], [], []
    result.update(setup_s=clock.now() - t_setup, rss_before_mb=rss_mb())
    for epoch in range(1, args.epochs + 1):
        clock.turn()
        if epoch == 2:
            result["faults_before"] = minor_faults()
        t0 = last = clock.now()
        modules.train()
        pairs = epoch_pairs(epoch)
        total = 0.0
        for step in range(1, steps + 1):
            torch.manual_seed(STEP_SEED + (epoch - 1) * 100003 + step)
            p = progress(epoch, step)
            annealing(optimizer, p)
            idx, tdx = pairs[(step - 1) * batch : step * batch].T
            x = torch.cat([xs[idx], xt[tdx]])
            lens = torch.ones(x.shape[0], device=device)
            z = extractor(normalize(x, lens, epoch=epoch))
            logits = classifier(z)
            d = discriminator(grad_reverse(z, hparams["adversarial_weight"] * dann_lambda(p, gamma)))
            loss = F.cross_entropy(logits[:batch], ys[idx]) + domain_adversarial_loss(d[:batch], d[batch:])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item()
            if epoch >= 2:
                step_times.append(clock.now() - last)
            clock.turn()
            last = clock.now()
        times.append(clock.now() - t0)
        losses.append(total / steps)
    result.update(epoch_s=times, step_s=step_times, mean_loss=losses, steps=steps,
                  faults_per_step=(minor_faults() - result["faults_before"]) / ((args.epochs - 1) * steps))

    def data_epoch():
        """One pass of the batch indexing alone (no model)."""
        pairs = epoch_pairs(1)
        for step in range(1, steps + 1):
            idx, tdx = pairs[(step - 1) * batch : step * batch].T
            torch.cat([xs[idx], xt[tdx]]), ys[idx]

    result["data_ms_per_step"] = time_data_path(clock, data_epoch, steps)


def child(args):
    """Child mode (``--variant``): one variant, in lock-step unless ``--alone``; prints a ``RESULT`` line."""
    torch.set_num_threads(args.threads)
    clock = Clock(enabled=not args.alone, device=args.device)
    clock.turn()  # setup counts too: wait for the turn
    work = tempfile.mkdtemp(prefix="bench_training_")
    result = {"variant": args.variant}
    try:
        (run_brain if args.variant == "brain" else run_bare)(args, work, result, clock)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["peak_rss_mb"] = peak_rss_mb()
    if args.device.startswith("cuda"):
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print("RESULT " + json.dumps(result), flush=True)


# ------------------------------------------------------------------ parent
def run_pair(args, order, logdir):
    """Runs both variants in lock-step; returns {variant: result}."""
    procs, logs = {}, {}
    env = dict(os.environ)
    if args.fixed_malloc:
        # glibc otherwise serves big blocks with mmap and returns them on free, with a
        # threshold that adapts to the process's history: some runs then page-fault on
        # every activation buffer of every step and others do not.
        env.update(MALLOC_MMAP_THRESHOLD_=str(2**30), MALLOC_TRIM_THRESHOLD_=str(2**30))
    for variant in order:
        cmd = [sys.executable, os.path.abspath(__file__), "--variant", variant,
               "--n", str(args.n), "--epochs", str(args.epochs), "--batch_size", str(args.batch_size),
               "--threads", str(args.threads), "--device", args.device]
        logs[variant] = open(os.path.join(logdir, variant + ".log"), "w+")  # tqdm, logging
        procs[variant] = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=logs[variant], text=True, cwd=ROOT, env=env)

    def next_event(variant):
        """Reads the child's stdout up to its next TURN or RESULT line."""
        for line in procs[variant].stdout:
            if line.startswith("TURN"):
                return None
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
        logs[variant].seek(0)
        sys.stderr.write(logs[variant].read()[-5000:])
        for p in procs.values():
            p.kill()
        sys.exit("the %s subprocess failed (exit %s)" % (variant, procs[variant].wait()))

    results, active = {}, list(order)
    for variant in order:
        next_event(variant)  # both are up (imports done) and wait for their first turn
    while active:
        for variant in list(active):
            procs[variant].stdin.write("GO\n")
            procs[variant].stdin.flush()
            event = next_event(variant)
            if event is not None:
                results[variant] = event
                active.remove(variant)
    for variant in order:
        procs[variant].wait()
        logs[variant].close()
    return results


def main(argv=None):
    """Command line (see the module docstring): ``--repeats`` lock-step pairs, then :func:`report`."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=320, help="items per domain (default 320 = 10 steps of 32)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per run (>= 2; default 3)")
    p.add_argument("--repeats", type=int, default=1,
                   help="lock-step pairs of runs, alternating who moves first (default 1)")
    p.add_argument("--batch_size", type=int, default=32, help="per domain (default 32, as the recipe)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:k] (default cpu)")
    p.add_argument("--fixed_malloc", action="store_true",
                   help="fix glibc's mmap/trim thresholds in both processes (see README)")
    p.add_argument("--variant", choices=["brain", "bare"], help=argparse.SUPPRESS)  # child mode
    p.add_argument("--alone", action="store_true", help=argparse.SUPPRESS)  # child without parent
    args = p.parse_args(argv)
    if args.variant:
        return child(args)
    if args.epochs < 2:
        p.error("--epochs must be >= 2 (epoch 1 is reported apart)")

    runs = {"brain": [], "bare": []}
    logdir = tempfile.mkdtemp(prefix="bench_training_logs_")
    try:
        for r in range(args.repeats):
            order = ("brain", "bare") if r % 2 == 0 else ("bare", "brain")
            for variant, result in run_pair(args, order, logdir).items():
                runs[variant].append(result)
                print("  pair %d %-5s epochs %s s, %.0f page faults/step, peak RSS %.0f MB, mean loss %s" % (
                    r + 1, variant, " ".join("%.2f" % t for t in result["epoch_s"]), result["faults_per_step"],
                    result["peak_rss_mb"], " ".join("%.5f" % v for v in result["mean_loss"])), flush=True)
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    return report(args, runs)


def report(args, runs):
    """Prints the tables; returns the medians of each variant (``stats``)."""
    import speechbrain

    stats = {}
    for variant, results in runs.items():
        steady = [t for res in results for t in res["epoch_s"][1:]]
        stats[variant] = dict(
            first=statistics.median(res["epoch_s"][0] for res in results),
            steady=statistics.median(steady),
            step=statistics.median(t for res in results for t in res["step_s"]) * 1e3,
            setup=statistics.median(res["setup_s"] for res in results),
            rss_before=statistics.median(res["rss_before_mb"] for res in results),
            peak=statistics.median(res["peak_rss_mb"] for res in results),
            gpu=statistics.median(res.get("peak_gpu_mb", float("nan")) for res in results),
            data=statistics.median(res["data_ms_per_step"] for res in results),
            faults=statistics.median(res["faults_per_step"] for res in results),
            loss=results[0]["mean_loss"],
        )
    print()
    print("bench_training: DANN, recipes/gender/hparams/dann.yaml networks; %d + %d items of %dx%d, "
          "batch %d + %d, %d steps/epoch, %d epochs, %d lock-step pair(s); device %s, torch threads %d%s, "
          "torch %s, speechbrain %s; dann.yaml sha1 %s, %d parameters"
          % (args.n, args.n, SHAPE[0], SHAPE[1], args.batch_size, args.batch_size,
             runs["brain"][0]["steps"], args.epochs, args.repeats, args.device, args.threads,
             ", fixed malloc thresholds" if args.fixed_malloc else "",
             torch.__version__, speechbrain.__version__, runs["brain"][0]["hparams_sha1"],
             runs["brain"][0]["parameters"]))
    print()
    gpu = args.device.startswith("cuda")
    head = ("variant", "setup s", "epoch 1 s", "epoch 2+ s", "step ms", "samples/s", "data path ms/step",
            "page faults/step (epochs 2+)", "RSS before MB", "peak RSS MB") + (("peak GPU MB",) if gpu else ()) + ("mean loss per epoch",)
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("-" * (len(h) + 2) for h in head) + "|")
    for variant in ("brain", "bare"):
        s = stats[variant]
        row = ["%s" % variant, "%.1f" % s["setup"], "%.2f" % s["first"], "%.2f" % s["steady"],
               "%.0f" % s["step"], "%.0f" % (2 * args.batch_size / s["step"] * 1e3),
               "%.2f" % s["data"], "%.0f" % s["faults"], "%.0f" % s["rss_before"], "%.0f" % s["peak"]]
        if gpu:
            row.append("%.0f" % s["gpu"])
        row.append(" ".join("%.5f" % v for v in s["loss"]))
        print("| " + " | ".join(row) + " |")
    b, r = stats["brain"], stats["bare"]
    print()
    print("| ratio brain / bare (medians) | x |")
    print("|---|---|")
    paired = [x / y for rb, rr in zip(runs["brain"], runs["bare"]) for x, y in zip(rb["step_s"], rr["step_s"])]
    print("| step time, epochs 2+ (overhead of our stack) | %.3f |" % (b["step"] / r["step"]))
    print("| same, median of the %d per-step ratios (steps k run back to back) | %.3f |"
          % (len(paired), statistics.median(paired)))
    print("| epoch time, epochs 2+ | %.3f |" % (b["steady"] / r["steady"]))
    print("| epoch 1 time | %.3f |" % (b["first"] / r["first"]))
    print("| data path alone (loader + collate vs tensor indexing) | %.1f |" % (b["data"] / r["data"]))
    print("| setup | %.3f |" % (b["setup"] / r["setup"]))
    print("| peak RSS | %.3f |" % (b["peak"] / r["peak"]))
    print("| RSS growth during training (peak - before) | %.3f |"
          % ((b["peak"] - b["rss_before"]) / (r["peak"] - r["rss_before"])))
    if gpu:
        print("| peak GPU memory | %.3f |" % (b["gpu"] / r["gpu"]))
    print()
    print("data path difference: %.2f ms/step = %.2f%% of a bare epoch-2+ step"
          % (b["data"] - r["data"], 100 * (b["data"] - r["data"]) / r["step"]))
    pairs = list(zip(runs["brain"], runs["bare"]))
    diff = max(abs(x - y) for rb, rr in pairs for x, y in zip(rb["mean_loss"], rr["mean_loss"]))
    print()
    print("max |mean loss brain - bare| over epochs and pairs: %.2e (same maths: ~0 up to float rounding)"
          % diff)
    hashes = {res["hparams_sha1"] for results in runs.values() for res in results}
    if len(hashes) > 1:
        print("WARNING: the hparams file changed during the run (sha1 %s); the variants did not "
              "train the same networks: run again" % ", ".join(sorted(hashes)))
    elif diff > 1e-3:
        print("WARNING: the two loops did not compute the same losses (was the library edited "
              "during the run?)")
    return {"stats": stats, "parameters": runs["brain"][0]["parameters"],
            "samples_per_step": 2 * args.batch_size}


if __name__ == "__main__":
    main()
