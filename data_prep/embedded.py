"""The embedded corpora of the benchmark, and the ``amls-bench`` command that runs on them.

The library's runner (:mod:`amls_speech.bench`) knows recipes, not
generators: this module, on the data side, generates the SYNTHETIC corpora a
recipe needs (once; the generators are idempotent and atomic) and hands the
runner a function that does so.
"""

from pathlib import Path

from amls_speech import bench
from data_prep.synth_digits import generate_digits
from data_prep.synth_emotion import generate_emotion
from data_prep.synth_keywords import generate_keywords
from data_prep.synth_microphones import render_microphones


def embedded_data(recipe, data_root, corpus_seed=0, size=None):
    """Generates (once) the embedded corpus a recipe needs; returns hparams overrides.

    ``corpus_seed`` is the generators' seed: 0 makes the corpus the tables
    report, 1 the DEVELOPMENT corpus on which knobs are chosen (other
    voices, takes, rooms and noise; the same words and label partitions).
    ``size``: keyword-generator options (default: the generator's defaults).
    The digit and clustering recipes get the embedded digit domains (:mod:`data_prep.synth_digits`).
    """
    if recipe in ("digits", "ckm"):  # the four embedded digit domains (under a minute)
        digits = Path(data_root) / ("digits_seed%d" % corpus_seed)
        generate_digits(digits, seed=corpus_seed)
        return {"data_folder": str(digits)}
    size = size or {}
    name = "corpus_seed%d" % corpus_seed + "".join("_%s%d" % (k, v) for k, v in sorted(size.items()))
    root = Path(data_root) / name
    keywords = root / "keywords"
    generate_keywords(keywords, seed=corpus_seed, **size)
    if recipe == "gender":
        return {"data_folder": str(keywords)}
    if recipe == "microphone":
        mics = root / "microphones"
        render_microphones(keywords, mics, seed=corpus_seed)
        return {"data_folder": str(mics)}
    emotion = root / "emotion"
    generate_emotion(emotion, seed=corpus_seed)
    return {"crema_folder": str(emotion / "CREMA-D"), "ravdess_folder": str(emotion / "RAVDESS")}


def main(argv=None):
    """``amls-bench``: :func:`amls_speech.bench.main` with the embedded corpora."""
    bench.main(argv, embedded_data=embedded_data)


if __name__ == "__main__":
    main()
