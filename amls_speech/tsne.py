"""t-SNE of the learned features z = F(x): source against target, per method.

One panel per trained recipe run: source validation clips in grey, target test
clips of the shared classes in blue, target-private ones in red. Side by side
with source only, it shows what adaptation did: whether target samples moved
onto the source clusters, and whether the private ones stayed apart (what an
open-set method needs in order to reject them). The colours come from the
manifests' ``label_set`` column; the networks never see them.

Runs on checkpoints that a recipe or ``amls-bench`` has written::

    python -m amls_speech.tsne recipes/gender/hparams/source_only.yaml \\
        recipes/gender/hparams/amls.yaml --out tsne_M2F.png

``--set KEY=VALUE`` overrides hparams keys as in ``amls-bench``; for a
benchmark's runs, ``--set results_root=<out>/runs/gender``.
"""

import argparse
import logging

import numpy as np
import speechbrain as sb

from amls_speech.logs import quiet
from amls_speech.bench import parse_settings
from amls_speech.recipe import build, load_hparams
from amls_speech.report import pyplot, save_figure

logger = logging.getLogger(__name__)

GROUPS = (  # (domain, label sets, colour, marker, legend)
    ("source", ("shared", "source_private"), "0.7", "o", "source"),
    ("target", ("shared",), "tab:blue", "o", "target, shared classes"),
    ("target", ("target_private",), "tab:red", "x", "target, private classes"),
)


def embed_domains(hparams, run_opts=None):
    """Features of the selected checkpoint on source valid and target test.

    Returns
    -------
    z : ndarray, (N, D)
        Source validation features first, then target test features.
    domain : ndarray of str, (N,)
        ``"source"`` or ``"target"``.
    label_set : ndarray of str, (N,)
        The manifest's ``label_set`` of each clip.
    """
    brain, datasets = build(hparams, run_opts)
    brain.recover_selected()
    kwargs = hparams["test_dataloader_opts"]
    parts = []
    for name, domain, stage in (("source_valid", "source", sb.Stage.VALID),
                                ("target_test", "target", sb.Stage.TEST)):
        data = datasets[name]  # its rows hold every manifest column, label_set included
        z = brain.collect(data, kwargs, lambda out: out["z"], stage=stage)
        ids = data.data_ids  # collect keeps the dataset's order
        parts.append((z, [domain] * len(ids), [data.data[i]["label_set"] for i in ids]))
    z, domain, label_set = (np.concatenate(p) for p in zip(*parts))
    return z, domain, label_set


def project(z, seed=0):
    """2-D t-SNE of ``z`` (perplexity capped for small sets), seeded.

    Example
    -------
    >>> z = np.random.default_rng(0).normal(size=(12, 4))
    >>> project(z).shape
    (12, 2)
    """
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(2, (len(z) - 1) // 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(z)


def plot(panels, path, title):
    """Writes the figure to ``path`` and returns it: one subplot per ``(name, xy, domain, label_set)`` panel.

    Each panel shows the points of :data:`GROUPS`: source clips, then target
    clips of the shared and of the private classes, in their colours.

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> xy = np.random.default_rng(0).normal(size=(6, 2))
    >>> domain = np.array(["source"] * 3 + ["target"] * 3)
    >>> label_set = np.array(["shared", "source_private", "shared", "shared"] + ["target_private"] * 2)
    >>> panels = [("source_only", xy, domain, label_set), ("amls", xy, domain, label_set)]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = plot(panels, Path(folder) / "tsne.png", "M2F seed 0")
    ...     path.name, path.stat().st_size > 1000
    ('tsne.png', True)
    """
    fig, axes = pyplot().subplots(1, len(panels), figsize=(4.2 * len(panels), 4.4), squeeze=False)
    for ax, (name, xy, domain, label_set) in zip(axes[0], panels):
        for dom, sets, colour, marker, legend in GROUPS:
            keep = (domain == dom) & np.isin(label_set, sets)
            ax.scatter(xy[keep, 0], xy[keep, 1], s=9, c=colour, marker=marker, label=legend,
                       linewidths=0.8)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def main(argv=None):
    """``python -m amls_speech.tsne HPARAMS... [--out PNG] [--set KEY=VALUE]``: one panel per trained run."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("hparams", nargs="+", help="one hparams file per panel (each run must be trained)")
    p.add_argument("--out", default="tsne.png")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override an hparams key of every file (YAML value)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    overrides = parse_settings(args.set)
    panels, tasks, data = [], set(), set()
    for path in args.hparams:
        hparams = load_hparams(path, overrides)
        key = "crema_folder" if "crema_folder" in hparams else "data_folder"
        data.add(("corpus at %s" if key in overrides else "embedded synthetic corpus at %s") % hparams[key])
        z, domain, label_set = embed_domains(hparams, {"device": args.device, "noprogressbar": True})
        name = "%s (%s)" % (hparams["method"], hparams["checkpoint_selection"])
        panels.append((name, project(z, seed=hparams["seed"]), domain, label_set))
        tasks.add("%s seed %s" % (hparams["task"], hparams["seed"]))
    title = "t-SNE of F(x): %s; %s" % (", ".join(sorted(tasks)), ", ".join(sorted(data)))
    print(plot(panels, args.out, title))


if __name__ == "__main__":
    quiet()
    main()
