"""What this CPU is, and the training precision that is fast on it.

bfloat16 autocast pays on a CPU with bf16 matrix units (Intel AMX): 1.3-1.4x
faster per step on the 2-core Intel machine here (bench/bench_precision.py).
On a 2-core AMD EPYC machine, which has the AVX-512 BF16 instructions but no
AMX, a digit run took 7-16x longer under bf16 than in float32
(docs/results/README.md, ``partial213_amd``), so ``auto`` asks for AMX.
"""

import platform

FAST_BF16_FLAGS = ("amx_bf16",)  # avx512_bf16 alone was slow (above)


def _cpuinfo_field(name):
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(name):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return None


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere).

    Example
    -------
    >>> isinstance(cpu_model(), str)
    True
    """
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def has_fast_bf16(flags=None):
    """True if the CPU flags (``/proc/cpuinfo`` by default) include bf16 matrix units (AMX).

    Example
    -------
    >>> has_fast_bf16("fpu avx2 avx512f amx_bf16 amx_tile"), has_fast_bf16("fpu avx512f avx512_bf16")
    (True, False)
    """
    if flags is None:
        flags = _cpuinfo_field("flags") or ""
    return any(flag in flags.split() for flag in FAST_BF16_FLAGS)


def resolve_precision(precision, device="cpu", flags=None):
    """``precision`` as SpeechBrain takes it: ``auto`` becomes bf16 where it is fast, else fp32.

    On CUDA ``auto`` is bf16 where the GPU supports it. Other values pass through.

    Example
    -------
    >>> resolve_precision("auto", "cpu", flags="avx2 amx_bf16"), resolve_precision("auto", "cpu", flags="avx2")
    ('bf16', 'fp32')
    >>> resolve_precision("fp16", "cuda:0")
    'fp16'
    """
    if precision != "auto":
        return precision
    if str(device).startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if has_fast_bf16(flags) else "fp32"
