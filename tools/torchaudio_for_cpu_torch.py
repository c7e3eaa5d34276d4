"""Lets PyPI's torchaudio import beside a CPU build of torch.

PyPI's Linux torchaudio wheels carry a C++ extension linked against the CUDA
build of torch (``libc10_cuda.so``). Beside the CPU torch that ``make install``
takes from this machine's disk, loading it fails and ``import torchaudio``
(which SpeechBrain needs) raises. torchaudio treats a *missing* extension as
"not built" and falls back to its Python code; nothing here uses the parts that
need the extension (forced alignment, the CUDA CTC decoder, the C++ ``lfilter``
kernel). So, with a CPU torch, this removes the extension's files; with a CUDA
torch it does nothing. Idempotent.

Usage: ``python tools/torchaudio_for_cpu_torch.py`` with the venv's python.
"""

import glob
import importlib.util
import os
import sys


def main():
    """Removes torchaudio's extension under a CPU torch, then imports torchaudio; returns the exit status."""
    import torch

    if torch.version.cuda is not None:
        print("torch %s is a CUDA build: torchaudio's extension loads, nothing to do" % torch.__version__)
        return 0
    spec = importlib.util.find_spec("torchaudio")
    if spec is None:
        print("torchaudio is not installed", file=sys.stderr)
        return 1
    lib_dir = os.path.join(os.path.dirname(spec.origin), "lib")
    for path in sorted(glob.glob(os.path.join(lib_dir, "*.so"))):
        os.remove(path)
        print("removed %s (linked against CUDA torch)" % path)
    import torchaudio  # noqa: F401  the check that it now imports

    return 0


if __name__ == "__main__":
    sys.exit(main())
