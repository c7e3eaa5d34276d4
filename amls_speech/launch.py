"""One recipe run in every process of a ``torchrun`` launch: what ``amls-bench --nproc_per_node`` starts.

    torchrun --standalone --nproc_per_node=2 -m amls_speech.launch SPEC.json SUMMARY.json

``SPEC.json`` holds ``{"hparams": path, "overrides": {...}, "run_opts": {...}}``
(``run_opts`` with ``distributed_backend``: ``gloo`` on CPU, ``nccl`` on
GPU). Every process joins the group (SpeechBrain's ``ddp_init_group``) and
runs :func:`amls_speech.recipe.run_recipe`; the main process alone writes the
run's summary to ``SUMMARY.json``, with ``world_size`` added (the number of
processes: each trains on its own shard of the pairs with the hparams' batch
size, so a step sees ``world_size`` x that many pairs). Every process then
leaves the group (:func:`amls_speech.recipe.leave_process_group`).
"""

import json
import os
import sys

import speechbrain as sb

from amls_speech.atomic import write_json_atomic
from amls_speech.recipe import leave_process_group, run_recipe


def main(argv=None):
    """Runs the launch's spec in this process; ``argv``: ``[SPEC.json, SUMMARY.json]`` (or ``sys.argv[1:]``).

    Every process of the ``torchrun`` launch calls it; the main one alone
    writes the summary.
    """
    spec_path, summary_path = (argv if argv is not None else sys.argv[1:])[:2]
    with open(spec_path) as f:
        spec = json.load(f)
    run_opts = dict(spec["run_opts"])
    sb.utils.distributed.ddp_init_group(run_opts)
    summary = run_recipe(spec["hparams"], spec["overrides"], run_opts)
    if sb.utils.distributed.if_main_process():
        summary["world_size"] = int(os.environ.get("WORLD_SIZE", 1))
        write_json_atomic(summary_path, summary)
    leave_process_group()


if __name__ == "__main__":
    main()
