"""Open-set scores of the AMLS paper: shared classes plus one "unknown" class.

Target samples of private target classes carry the label ``unknown`` (index
``n_source_classes``). A method that never answers "unknown" scores 0 on it.

- ``score``: per-class accuracy averaged over the shared classes and the unknown
  class (the paper's Table 1 number).
- ``shared_accuracy``: per-class accuracy averaged over the shared classes.
- ``unknown_accuracy``: fraction of private-target samples labelled unknown.
- ``h_score``: harmonic mean of ``shared_accuracy`` and ``unknown_accuracy``.
- ``accuracy``: plain fraction of correct answers over all target samples.
"""

import numpy as np
import torch


def per_class_accuracy(confusion):
    """Diagonal over row sums; NaN for classes with no sample.

    Example
    -------
    >>> per_class_accuracy(np.array([[3, 1], [0, 0]]))
    array([0.75,  nan])
    """
    confusion = np.asarray(confusion, dtype=float)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / totals, np.nan)


def h_score(shared_accuracy, unknown_accuracy):
    """Harmonic mean of two accuracies; 0 when both are 0.

    Example
    -------
    >>> h_score(0.6, 0.3)
    0.4
    >>> h_score(0.0, 0.0)
    0.0
    """
    total = shared_accuracy + unknown_accuracy
    return 0.0 if total == 0 else 2 * shared_accuracy * unknown_accuracy / total


class OpenSetStats:
    """Accumulates open-set predictions and summarises them (SpeechBrain MetricStats style).

    Arguments
    ---------
    class_names : list of str
        The source classes, in the classifier's index order.
    shared : list of str
        Source classes that the target domain also has.

    Example
    -------
    >>> stats = OpenSetStats(["a", "b", "c"], shared=["a", "b"])
    >>> unk = stats.unknown_index
    >>> stats.append(["u1", "u2", "u3", "u4", "u5"],
    ...              predictions=[0, 1, unk, unk, 0],
    ...              targets=[0, 0, 1, unk, unk])
    >>> s = stats.summarize()
    >>> round(s["shared_accuracy"], 4), s["unknown_accuracy"], round(s["score"], 4)
    (0.25, 0.5, 0.3333)
    >>> round(s["accuracy"], 2), round(s["h_score"], 4)
    (0.4, 0.3333)
    """

    def __init__(self, class_names, shared):
        self.class_names = list(class_names)
        missing = set(shared) - set(self.class_names)
        if missing:
            raise ValueError("shared classes %s are not source classes" % sorted(missing))
        self.shared_index = [self.class_names.index(c) for c in shared]
        self.unknown_index = len(self.class_names)
        self.clear()

    def clear(self):
        """Forgets every appended prediction."""
        self.ids, self.predictions, self.targets = [], [], []

    def append(self, ids, predictions, targets):
        """Adds a batch of predicted and true indices (unknown = ``unknown_index``)."""
        self.ids.extend(ids)
        self.predictions.extend(_as_list(predictions))
        self.targets.extend(_as_list(targets))

    def confusion(self):
        """Confusion matrix over source classes + unknown (rows: truth)."""
        n = self.unknown_index + 1
        matrix = np.zeros((n, n), dtype=np.int64)
        np.add.at(matrix, (self.targets, self.predictions), 1)
        return matrix

    def summarize(self, field=None):
        """The scores in the module docstring, per-class accuracies and the confusion matrix."""
        if not self.targets:
            raise ValueError("no predictions were appended")
        confusion = self.confusion()
        acc = per_class_accuracy(confusion)
        shared_acc = float(np.nanmean(acc[self.shared_index]))
        has_unknown = confusion[self.unknown_index].sum() > 0
        unknown_acc = float(acc[self.unknown_index]) if has_unknown else float("nan")
        evaluated = [a for a in list(acc[self.shared_index]) + [unknown_acc] if not np.isnan(a)]
        names = self.class_names + ["unknown"]
        summary = {
            "score": float(np.mean(evaluated)),
            "shared_accuracy": shared_acc,
            "unknown_accuracy": unknown_acc,
            "h_score": h_score(shared_acc, unknown_acc) if has_unknown else float("nan"),
            "accuracy": float(np.trace(confusion) / confusion.sum()),
            "per_class": {names[i]: float(a) for i, a in enumerate(acc) if not np.isnan(a)},
            "confusion": confusion.tolist(),
            "labels": names,
        }
        return summary if field is None else summary[field]


def _as_list(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().view(-1).tolist()
    return [int(v) for v in x]
