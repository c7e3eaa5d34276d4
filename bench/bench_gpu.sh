#!/usr/bin/env bash
# The training benchmark on a CUDA GPU: Brain.fit vs the bare loop, both on the device.
#
#   bench/bench_gpu.sh                 # defaults below
#   bench/bench_gpu.sh --repeats 5     # any bench_training.py option overrides them
#
# The Brain's batches come from the CPU DataLoader and are moved to the GPU each
# step (as in a recipe run); the bare loop keeps the whole synthetic set on the
# GPU, so its "peak GPU MB" includes the data (2 x n x 101 x 40 float32).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
"$PY" -c "import torch; print('GPU:', torch.cuda.get_device_name(0))"
exec "$PY" bench/bench_training.py --device cuda --n 1280 --epochs 3 --repeats 3 "$@"
