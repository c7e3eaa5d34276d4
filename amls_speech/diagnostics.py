"""Diagnostics that explain a run's numbers. They READ TARGET LABELS, for reporting only.

Nothing here feeds back into training, selection or thresholds: a run records
label-free quantities (rejection signals of the test clips, the pseudo-labels
AMLS admitted), and the labels are joined in afterwards, in
:func:`amls_speech.recipe.run`, to say how good those quantities were.

Rejection signals (higher = more like a shared class), computed for every
method from the same forward pass, whichever one the method thresholds:

- ``margin``: M = top-1 minus top-2 class probability.
- ``neg_entropy``: minus the normalised prediction entropy.
- ``d_source``: the non-adversarial discriminator's source probability
  (AMLS's D_0, UAN's D'), where the method has one.
- ``delta_t``: AMLS's 0.5 (M + D_0).
- ``w_t``: UAN's D' - H/log|C_S| (temperature 1).
"""

import numpy as np
import torch

from amls_speech.amls_weights import margin
from amls_speech.uan_weights import normalized_entropy


def rejection_signals(probs, d_source=None):
    """Every rejection signal of a batch, as a dict of ``(batch,)`` tensors.

    Example
    -------
    >>> sig = rejection_signals(torch.tensor([[0.7, 0.2, 0.1]]), torch.tensor([0.3]))
    >>> {k: round(float(v), 4) for k, v in sig.items()}
    {'margin': 0.5, 'neg_entropy': -0.7298, 'd_source': 0.3, 'delta_t': 0.4, 'w_t': -0.4298}
    """
    m, h = margin(probs), normalized_entropy(probs)
    out = {"margin": m, "neg_entropy": -h}
    if d_source is not None:
        out.update(d_source=d_source, delta_t=0.5 * (m + d_source), w_t=d_source - h)
    return {k: v.detach().cpu() for k, v in out.items()}


def auroc(positive, negative):
    """Probability that a positive scores above a negative (ties count half); None if a side is empty.

    Example
    -------
    >>> auroc([0.9, 0.8], [0.1, 0.85])
    0.75
    >>> auroc([], [0.1]) is None
    True
    """
    pos, neg = np.asarray(positive, float), np.asarray(negative, float)
    if pos.size == 0 or neg.size == 0:
        return None
    # rank formula (Mann-Whitney U): O(n log n), the test sets have thousands of clips
    values = np.concatenate([pos, neg])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    u = ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2.0
    return float(u / (pos.size * neg.size))


def signal_aurocs(signals, is_shared):
    """AUROC (shared vs private) of every signal; ``is_shared`` is the test labels' verdict.

    Example
    -------
    >>> signal_aurocs({"m": [0.9, 0.2, 0.1]}, [True, False, False])
    {'m': 1.0}
    """
    shared = np.asarray(is_shared, bool)
    out = {}
    for name, values in signals.items():
        values = np.asarray(values, float)
        out[name] = auroc(values[shared], values[~shared])
    return out


def shared_mask(summary):
    """Per test clip of a run's summary (its ``records``): does its label belong to a shared class?

    Target-private clips carry the label index ``len(classes)``, "unknown".

    Example
    -------
    >>> shared_mask({"classes": ["a", "b"], "shared_classes": ["a"], "records": {"truth": [0, 2, 1]}})
    [True, False, False]
    """
    classes, shared = summary["classes"], summary["shared_classes"]
    return [t < len(classes) and classes[t] in shared for t in summary["records"]["truth"]]


def rejection_rates(rejected, is_shared):
    """Share of shared and of private test clips predicted "unknown".

    Example
    -------
    >>> rejection_rates([True, False, True, True], [True, True, False, False])
    {'shared_rejected': 0.5, 'private_rejected': 1.0}
    """
    rejected, shared = np.asarray(rejected, bool), np.asarray(is_shared, bool)

    def rate(mask):
        """Share of the clips in ``mask`` that were rejected; None if there are none."""
        return float(rejected[mask].mean()) if mask.any() else None

    return {"shared_rejected": rate(shared), "private_rejected": rate(~shared)}


class PseudoLabelLog:
    """The pseudo-labels AMLS admitted in each epoch (ids and class indices; no label read).

    A clip drawn twice in an epoch counts once, with its last pseudo-label.

    Example
    -------
    >>> log = PseudoLabelLog()
    >>> log.record(["a", "b"], torch.tensor([1, 0]), torch.tensor([True, False]))
    >>> log.end_epoch(1)
    >>> log.epochs
    {1: {'seen': 2, 'admitted': {'a': 1}}}
    """

    def __init__(self):
        self.epochs = {}
        self._seen, self._admitted = set(), {}

    def record(self, ids, pseudo_labels, keep):
        """Notes clips ``ids`` as seen and, where ``keep`` is true, their pseudo-labels as admitted."""
        self._seen.update(ids)
        for i, label, k in zip(ids, pseudo_labels.tolist(), keep.tolist()):
            if k:
                self._admitted[i] = label

    def end_epoch(self, epoch):
        """Stores ``epoch``'s count of seen clips and its admitted pseudo-labels, then starts afresh."""
        self.epochs[epoch] = {"seen": len(self._seen), "admitted": self._admitted}
        self._seen, self._admitted = set(), {}

    def state(self):
        """Everything recorded so far, the current epoch's part included (for checkpoints)."""
        return {"epochs": self.epochs, "seen": sorted(self._seen), "admitted": dict(self._admitted)}

    def load_state(self, state):
        """Puts back what :meth:`state` returned."""
        self.epochs = dict(state["epochs"])
        self._seen, self._admitted = set(state["seen"]), dict(state["admitted"])


def pseudo_label_precision(epochs, truth, classes):
    """Per epoch: share of target clips admitted, their precision and private share.

    Arguments
    ---------
    epochs : dict
        ``PseudoLabelLog.epochs``.
    truth : dict
        Clip id -> true class name (the adaptation set's labels: a diagnostic).
    classes : list of str
        The classifier's classes (pseudo-label indices point into it).

    Example
    -------
    >>> epochs = {1: {"seen": 4, "admitted": {"a": 0, "b": 1}}}
    >>> pseudo_label_precision(epochs, {"a": "yes", "b": "wow"}, ["yes", "no"])
    [{'epoch': 1, 'admitted': 0.5, 'precision': 0.5, 'private_share': 0.5}]
    """
    out = []
    for epoch in sorted(epochs):
        admitted = epochs[epoch]["admitted"]
        n = len(admitted)
        correct = sum(truth[i] == classes[c] for i, c in admitted.items())
        private = sum(truth[i] not in classes for i in admitted)
        out.append({
            "epoch": epoch,
            "admitted": n / max(1, epochs[epoch]["seen"]),
            "precision": correct / n if n else None,
            "private_share": private / n if n else None,
        })
    return out
