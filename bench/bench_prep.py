"""Speech Commands preparation at scale: files per second and peak memory as the tree grows.

    .venv/bin/python bench/bench_prep.py [--sizes 10000,30000,100000]

For each size N a fake Speech Commands v0.02 tree of N wavs is written to a
temporary folder: the 35 word folders, ``<speaker>_nohash_<k>.wav`` names,
``validation_list.txt`` / ``testing_list.txt`` and a ``speaker,gender`` CSV.
Every wav is a hard link to a 0.1 s clip, so the tree costs inodes, not
gigabytes; the preparation still opens and reads the header of every file
(``data_prep.common.audio_duration``), as on the real corpus. Each
preparation (``prepare_speech_commands``, M->F, all four manifests) runs in a
fresh process, so its peak resident memory (``VmHWM``) is its own; the
"import only" row is the same process without the preparation, the floor
under the others. Page-cache effects: the tree was just written, so its
metadata are cached, as on a second preparation of a real corpus.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEAKERS = 2000  # as many as the real corpus has, about


def write_tree(folder, n_files, seed=0):
    """A Speech Commands layout with ``n_files`` hard-linked wavs; returns the gender CSV's path."""
    sys.path.insert(0, ROOT)
    from amls_speech.partitions import SPEECH_COMMANDS_WORDS

    rng = np.random.default_rng(seed)
    # one clip per word folder: a file takes at most 65,000 hard links on ext4
    clips = {}
    for w in SPEECH_COMMANDS_WORDS:
        clips[w] = os.path.join(folder, "clip_%s.wav" % w)
        sf.write(clips[w], np.zeros(1600, dtype=np.int16), 16000, subtype="PCM_16")
    speakers = ["%08x" % v for v in rng.choice(2**32, SPEAKERS, replace=False)]
    words = list(SPEECH_COMMANDS_WORDS)
    for w in words:
        os.makedirs(os.path.join(folder, w))
    held = []
    for i in range(n_files):
        word, spk = words[i % len(words)], speakers[(i // len(words)) % SPEAKERS]
        rel = "%s/%s_nohash_%d.wav" % (word, spk, i // (len(words) * SPEAKERS))
        os.link(clips[word], os.path.join(folder, rel))
        if i % 10 == 0:
            held.append(rel)
    for clip in clips.values():
        os.remove(clip)
    with open(os.path.join(folder, "validation_list.txt"), "w") as f:
        f.write("\n".join(held[::2]) + "\n")
    with open(os.path.join(folder, "testing_list.txt"), "w") as f:
        f.write("\n".join(held[1::2]) + "\n")
    genders = os.path.join(folder, "speakers.csv")
    with open(genders, "w") as f:
        f.write("speaker,gender\n" + "".join("%s,%s\n" % (s, "MF"[k % 2]) for k, s in enumerate(speakers)))
    return genders


CHILD = """
import json, resource, sys, time
sys.path.insert(0, %(root)r)
from data_prep.speech_commands import prepare_speech_commands
t0 = time.perf_counter()
if %(prepare)r:
    prepare_speech_commands(%(data)r, %(genders)r, %(save)r, source="male")
seconds = time.perf_counter() - t0
# VmHWM, not ru_maxrss: ru_maxrss carries the parent's peak across fork + exec
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
peak = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak}))
"""


def prepare_once(data, genders, save, prepare=True):
    """``{"seconds", "peak_mb"}`` of one preparation in a fresh process."""
    code = CHILD % {"root": ROOT, "data": data, "genders": genders, "save": save, "prepare": prepare}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    """Command line (see the module docstring): one preparation per size, the table; returns the numbers."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,30000,100000", help="files per tree, comma-separated")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    work = tempfile.mkdtemp(prefix="bench_prep_")
    try:
        floor = prepare_once(work, "", "", prepare=False)
        for n in sizes:
            tree = os.path.join(work, "sc%d" % n)
            os.makedirs(tree)
            t0 = time.perf_counter()
            genders = write_tree(tree, n)
            written = time.perf_counter() - t0
            res = prepare_once(tree, genders, os.path.join(work, "manifests%d" % n))
            with open(os.path.join(work, "manifests%d" % n, "source_train.csv")) as f:
                listed = sum(1 for _ in f) - 1
            rows.append(dict(files=n, seconds=res["seconds"], files_per_second=n / res["seconds"],
                             peak_mb=res["peak_mb"], tree_write_s=written, source_train_rows=listed))
            shutil.rmtree(tree)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("bench_prep: prepare_speech_commands (M->F) on fake trees of hard-linked 0.1 s wavs, "
          "one fresh process per size")
    print()
    print("| files | prep s | files/s | peak RSS MB | source_train rows |")
    print("|---|---|---|---|---|")
    print("| import only | - | - | %.0f | - |" % floor["peak_mb"])
    for r in rows:
        print("| %d | %.1f | %.0f | %.0f | %d |" % (r["files"], r["seconds"], r["files_per_second"],
                                                   r["peak_mb"], r["source_train_rows"]))
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print()
        print("peak RSS above the import floor: %.0f MB at %d files, %.0f MB at %d files (%.1fx the "
              "memory for %.0fx the files)" % (a["peak_mb"] - floor["peak_mb"], a["files"],
                                               b["peak_mb"] - floor["peak_mb"], b["files"],
                                               (b["peak_mb"] - floor["peak_mb"]) / max(1e-9, a["peak_mb"] - floor["peak_mb"]),
                                               b["files"] / a["files"]))
    return {"floor_mb": floor["peak_mb"], "sizes": rows}


if __name__ == "__main__":
    main()
