"""Label-free selection rules: thresholds that split a weight distribution, and model scores.

A rejection threshold (AMLS's delta_0, UAN's w_0) separates target samples
that look like shared classes from those that look private. Without target
labels, the only evidence is the shape of the weight distribution over the
unlabelled adaptation set; Otsu's rule places the cut where the two groups it
makes are most separated (maximum between-class variance).
"""

import numpy as np
import torch

from amls_speech.losses import prediction_entropy


def information_maximization(probs, eps=1e-12):
    r"""Label-free model score: diverse yet confident predictions on the target.

    .. math::

        IM = H\Big(\frac{1}{N}\sum_i p_i\Big) - \frac{1}{N}\sum_i H(p_i),
        \qquad H(p) = -\sum_c p_c \log p_c

    where :math:`p_i` is the softmax output for unlabelled target sample
    :math:`i` (SHOT, Liang et al. 2020; pytorch-adapt's ``IMValidator``).
    Higher is better: the first term rewards using many classes, the second
    penalises hesitant predictions. It reads no target label, and it scores
    the closed-set classifier only: a target-private sample still counts as
    one of the source classes.

    Arguments
    ---------
    probs : array-like, (N, C)
        Class probabilities; rows sum to 1.

    Example
    -------
    >>> round(information_maximization([[1.0, 0.0], [0.0, 1.0]]), 4)  # ln 2 - 0
    0.6931
    >>> round(information_maximization([[0.5, 0.5], [0.5, 0.5]]), 4)  # ln 2 - ln 2
    0.0
    >>> round(information_maximization([[1.0, 0.0], [1.0, 0.0]]), 4)  # 0 - 0: collapsed
    0.0
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError("information_maximization needs an (N, C) array with N > 0, got shape %s"
                         % (probs.shape,))

    return float(prediction_entropy(probs.mean(axis=0), eps) - prediction_entropy(probs, eps).mean())


def target_certainty(probs, eps=1e-12):
    r"""Label-free model score: minus the mean prediction entropy on the unlabelled target.

    .. math::
        -\frac{1}{N}\sum_i H(p_i)

    The ISRA code keeps the model of lowest mean target entropy. Unlike
    :func:`information_maximization` it does not reward spreading the
    predictions over many classes, which a partial target (fewer classes
    than the source) should not do. Higher is better.

    Example
    -------
    >>> round(target_certainty([[1.0, 0.0], [0.5, 0.5]]), 4)  # -(0 + ln 2) / 2
    -0.3466
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError("target_certainty needs an (N, C) array with N > 0, got shape %s" % (probs.shape,))
    return float(-prediction_entropy(probs, eps).mean())


def domain_confusion(d_source, d_target):
    r"""How badly a domain classifier tells two domains apart, in [0, 1] (1: not at all).

    With :math:`D(z)` the classifier's probability of "source", its balanced
    error is

    .. math::
        e = \tfrac12\big(\Pr_s[D(z) < \tfrac12] + \Pr_t[D(z) \ge \tfrac12]\big)

    and the confusion is :math:`2\min(e, 1 - e)`: an error above one half is
    folded back, because a classifier that is reliably wrong still separates
    the domains (the adversarial game overshoots that way).

    Arguments
    ---------
    d_source, d_target : array-like
        D's probabilities of "source" on held-out source and on target samples.

    Example
    -------
    >>> domain_confusion([0.9, 0.8], [0.1, 0.2])  # separated: e = 0
    0.0
    >>> domain_confusion([0.9, 0.3], [0.1, 0.7])  # e = 1/2
    1.0
    >>> domain_confusion([0.1, 0.2], [0.9, 0.8])  # reliably wrong: e = 1
    0.0
    """
    d_source, d_target = np.asarray(d_source, dtype=float), np.asarray(d_target, dtype=float)
    if d_source.size == 0 or d_target.size == 0:
        raise ValueError("domain_confusion needs samples of both domains, got %d source and %d "
                         "target" % (d_source.size, d_target.size))
    error = 0.5 * (np.mean(d_source < 0.5) + np.mean(d_target >= 0.5))
    return float(2 * min(error, 1 - error))


def source_domain_score(source_accuracy, confusion):
    """The DANN paper's label-free model score: low source error and high domain-classifier error.

    Ganin & Lempitsky (Sec. 4, "Choosing meta-parameters") observe that
    adaptation succeeds when the source test error is low while the domain
    classifier's error is high, and give no formula. Ours is the sum of the
    source validation accuracy and :func:`domain_confusion`, both in [0, 1],
    with equal weights (our choice). Neither term reads a target label.

    Example
    -------
    >>> source_domain_score(0.9, 0.5)
    1.4
    """
    return float(source_accuracy) + float(confusion)


def otsu_threshold(values, bins=64):
    """The cut maximising between-group variance of a histogram of ``values``.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> low, high = rng.normal(0.2, 0.05, 300), rng.normal(0.8, 0.05, 200)
    >>> t = otsu_threshold(np.concatenate([low, high]))
    >>> 0.35 < t < 0.65
    True
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("cannot choose a threshold from an empty set of weights")
    lo, hi = values.min(), values.max()
    if hi - lo < 1e-12:
        return float(lo)
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(counts)[:-1]
    w1 = values.size - w0
    s0 = np.cumsum(counts * centres)[:-1]
    m0 = s0 / np.maximum(w0, 1)
    m1 = (np.sum(counts * centres) - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float(edges[1:-1][np.argmax(between)])


THRESHOLD_RULES = ("fixed", "otsu")


def _check_rule(rule):
    if rule not in THRESHOLD_RULES:
        raise ValueError("unknown threshold rule %r; use one of %s" % (rule, list(THRESHOLD_RULES)))


def choose_threshold(rule, values, fixed=None):
    """Applies a named rule: ``otsu`` (label-free split) or ``fixed`` (a constant).

    Example
    -------
    >>> choose_threshold("fixed", [0.1, 0.9], fixed=-0.5)
    -0.5
    >>> choose_threshold("median", [1.0])
    Traceback (most recent call last):
    ...
    ValueError: unknown threshold rule 'median'; use one of ['fixed', 'otsu']
    """
    if rule == "fixed":
        if fixed is None:
            raise ValueError("the 'fixed' threshold rule needs a value")
        return float(fixed)
    _check_rule(rule)
    return otsu_threshold(values)


class EpochThreshold(torch.nn.Module):
    """A threshold re-chosen at every epoch end from the weights seen in that epoch.

    AMLS's pseudo-label threshold delta_p uses it: the weights of the
    unlabelled target halves of the training batches are observed as they are
    computed, and ``update()`` applies the rule to them. Until the first update
    the threshold is +inf (no pseudo-labels in the first epoch: a warm-up).
    The value is a buffer, so it is checkpointed with the model.

    Arguments
    ---------
    rule : str
        ``otsu`` or ``fixed``.
    fixed : float
        The value for the ``fixed`` rule.
    offset : float
        Added to each epoch's Otsu split (a stricter cut for a positive
        offset); the ``fixed`` rule uses ``fixed`` as it is, from the start.

    Example
    -------
    >>> th = EpochThreshold("otsu")
    >>> th.value
    inf
    >>> th.observe(torch.tensor([0.1, 0.12, 0.9, 0.92]))
    >>> th.update()
    >>> 0.12 < th.value < 0.9
    True
    """

    def __init__(self, rule="otsu", fixed=None, offset=0.0):
        super().__init__()
        self.rule, self.fixed, self.offset = rule, fixed, offset
        _check_rule(rule)  # here, not at the end of the first epoch
        start = choose_threshold(rule, [], fixed) if rule == "fixed" else float("inf")
        self.register_buffer("threshold", torch.tensor(start))
        self._seen = []

    @property
    def value(self):
        """The current threshold, as a float."""
        return float(self.threshold)

    def observe(self, weights):
        """Keeps a batch's weights (detached, on the CPU) for the next :meth:`update`."""
        self._seen.append(weights.detach().float().cpu())

    def get_extra_state(self):
        """The weights observed since the last update, for the module's ``state_dict``."""
        # the weights seen so far this epoch: a mid-epoch checkpoint keeps them
        return torch.cat(self._seen) if self._seen else torch.zeros(0)

    def set_extra_state(self, state):
        """Puts back the weights that :meth:`get_extra_state` returned."""
        self._seen = [state] if len(state) else []

    def update(self):
        """The rule on the weights observed since the last update, plus ``offset``; then forgets them.

        The ``fixed`` rule, or an epoch without weights, leaves the threshold as it is.
        """
        if self.rule != "fixed" and self._seen:
            values = torch.cat(self._seen).numpy()
            self.threshold.fill_(choose_threshold(self.rule, values, self.fixed) + self.offset)
        self._seen = []
