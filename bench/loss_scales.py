"""The size of each loss term of a recipe at its first training batch: value and gradient norm on F.

    .venv/bin/python bench/loss_scales.py recipes/digits/hparams/isra.yaml \\
        --set task=MN2MM-pda --set data_folder=data/digits_seed0

Reads no target label (the terms are the training losses). SpeechBrain
clips each optimizer's gradient norm to ``max_grad_norm`` (5), so a term
whose gradient is many times the cross-entropy's takes over the step: this
is how ISRA's alpha and beta were set for the digit network (its README).
With ``warm_start`` in the hparams the terms are measured at the
source-only checkpoint the run would start from (``--set results_root=``
the folder of an ``amls-bench`` run's ``runs/digits``).
Prints one line per term: its value and the l2 norm of its gradient on the
extractor F and on all parameters.
"""

import argparse
import os
import sys

import speechbrain as sb
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from amls_speech.bench import parse_settings  # noqa: E402
from amls_speech.data import PairedBatch, PairedDataset  # noqa: E402
from amls_speech.recipe import build, load_hparams  # noqa: E402
from amls_speech.schedules import Progress  # noqa: E402


def grad_norm(parameters):
    """l2 norm of the gradients of ``parameters`` taken together (0.0 when none has one)."""
    grads = [p.grad.pow(2).sum() for p in parameters if p.grad is not None]
    return float(torch.stack(grads).sum().sqrt()) if grads else 0.0


def term_scales(hparams_file, overrides, batches=1):
    """``{term: (value, grad norm on F, grad norm on every parameter)}``, averaged over ``batches``."""
    hparams = load_hparams(hparams_file, overrides)
    brain, datasets = build(hparams)
    train = PairedDataset(datasets["source_train"], datasets["target_adapt"], seed=hparams["seed"])
    loader = torch.utils.data.DataLoader(train, batch_size=hparams["batch_size"], sampler=train.sampler("none"),
                                         collate_fn=PairedBatch.collate)
    brain.progress, brain.unlabelled_target = Progress(1, len(loader)), None
    brain.init_optimizers()
    if hparams.get("warm_start"):
        # the rule is read where training starts: on -pda tasks the
        # source-only model, whose cross-entropy gradient is far smaller
        brain.warm_start(hparams["warm_start_folder"])
    brain.modules.train()
    sums = {}
    for _, batch in zip(range(batches), loader):
        terms = brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch)
        for name, value in terms.items():
            brain.modules.zero_grad(set_to_none=True)
            value.backward(retain_graph=True)
            row = (value.item(), grad_norm(brain.modules.extractor.parameters()),
                   grad_norm(brain.modules.parameters()))
            sums[name] = [a + b / batches for a, b in zip(sums.get(name, (0, 0, 0)), row)]
    return sums


def main(argv=None):
    """Command line (see the module docstring): print the table of :func:`term_scales`."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hparams")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--batches", type=int, default=4)
    args = p.parse_args(argv)
    over = {"results_root": "results/loss_scales", **parse_settings(args.set)}
    print("| term | value | grad norm on F | grad norm, all |\n| --- | --- | --- | --- |")
    for name, (value, on_f, total) in term_scales(args.hparams, over, args.batches).items():
        print("| %s | %.3g | %.3g | %.3g |" % (name, value, on_f, total))


if __name__ == "__main__":
    main()
