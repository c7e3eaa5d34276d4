"""BA3US's loss terms (Liang et al., ECCV 2020): balanced adversarial alignment, uncertainty suppression.

BA3US is the partial-DA backbone of the ISRA paper. Its paper is not among
the project's papers; these terms follow its public code (``run_BA3US.py``
and its ``loss.py``: ``DANN`` and ``marginloss``) and say where they depart.

- **Balanced adversarial alignment (BAA):** the target half of a batch is
  augmented with ``augmentation_size`` source images labelled *target* in the
  domain loss, so that the target's class mix, which lacks the
  source-private classes, looks more like the source's to the discriminator;
  the augmentation shrinks linearly to nothing over training.
- **Adaptive uncertainty suppression (AUS):** the complement entropy of each
  source prediction is maximised (:func:`complement_entropy_loss`: the
  wrong classes get flat, low scores) and the target prediction entropy is
  minimised (:func:`amls_speech.losses.prediction_entropy`).
- The domain loss weighs each sample by 1 + exp(-H) of its prediction (as
  CDAN+E) times its class weight (:func:`balanced_domain_weights`).
"""

import math

import torch

from amls_speech.losses import prediction_entropy


def augmentation_size(batch_size, mu, epoch, epochs):
    """Source images added to the target half of a batch: floor(batch/mu) x (1 - epoch/epochs).

    ``epoch`` counts from 0 (the code's ``i // test_interval``), so the first
    epoch adds ``batch_size // mu`` images and the last one ``1/epochs`` of
    that. ``mu = 0`` adds none; a negative ``mu`` adds ``batch_size // |mu|``
    throughout (the code's fixed augmentation).

    Example
    -------
    >>> [augmentation_size(64, 4, e, 28) for e in (0, 14, 26, 27)]
    [16, 8, 1, 0]
    >>> augmentation_size(64, 0, 0, 28), augmentation_size(64, -4, 27, 28)
    (0, 16)
    """
    if mu == 0:
        return 0
    if mu < 0:
        return int(batch_size // abs(mu))
    return int(max(0.0, (batch_size // mu) * (1.0 - epoch / epochs)))


def entropy_weights(probs):
    r"""CDAN+E's sample weights :math:`1 + e^{-H(p)}`, detached: 2 for a certain prediction.

    The BA3US code passes the entropy's gradient back reversed through these
    weights; here they are constants, as weights are in every other
    adversarial loss of the toolkit (and in the CDAN paper).

    Example
    -------
    >>> [round(v, 4) for v in entropy_weights(torch.tensor([[0.5, 0.5], [1.0, 0.0]])).tolist()]
    [1.5, 2.0]
    """
    return 1.0 + torch.exp(-prediction_entropy(probs.detach()))


def balanced_domain_weights(source, target, augment):
    r"""Per-sample weights of the domain loss with BAA's augmented rows, for a loss of two means.

    ``source`` (n), ``target`` (n_t) and ``augment`` (k) are the raw weights
    of the source rows, the target rows and the source rows added to the
    target half (each 1 + e^{-H} times its class weight). As in the BA3US
    code, the source and augmented rows share a total weight of 1 + k/n in
    proportion to their raw weights, and the target rows a total of 1. The
    toolkit's domain loss is a mean over the source rows plus a mean over the
    target half (:func:`~amls_speech.losses.domain_adversarial_loss`, the
    DANN paper's), so the weights returned are those shares times the row
    counts: the loss is the code's times 2 + k/n (the code divides by the
    total weight), which is DANN's loss when every raw weight is 1 and k = 0,
    and ``adversarial_weight`` means the same for every method.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The ``(n,)`` source weights and the ``(n_t + k,)`` weights of the
        target half: target rows first, then the augmented ones.

    Example
    -------
    >>> one = torch.ones
    >>> ws, wt = balanced_domain_weights(one(2), one(2), one(1))  # n = 2, n_t = 2, k = 1
    >>> ws.tolist(), wt.tolist()  # shares: source 1/2 each, augmented 1/2, target 1/2 each
    ([1.0, 1.0], [1.5, 1.5, 1.5])
    >>> ws, wt = balanced_domain_weights(torch.tensor([3.0, 1.0]), torch.tensor([1.0, 3.0]), one(0))
    >>> ws.tolist(), wt.tolist()
    ([1.5, 0.5], [0.5, 1.5])
    """
    n, k = source.numel(), augment.numel()
    half = target.numel() + k
    pool = source.sum() + augment.sum()
    share = 1.0 + k / n
    w_source = n * share * source / pool
    w_target = half * target / target.sum()
    w_augment = half * share * augment / pool
    return w_source.detach(), torch.cat([w_target, w_augment]).detach()


def complement_entropy_loss(logits, labels, weights=None, alpha=1.0, eps=1e-7):
    r"""AUS's source term: minus the normalised complement entropy, weighted (BA3US code: ``marginloss``).

    With :math:`p = \mathrm{softmax}(\text{logits})`, label :math:`y` and the
    complement distribution :math:`q_j = p_j / (1 - p_y)` over the
    :math:`K - 1` wrong classes,

    .. math::
        \ell_i = \frac{1}{\log(K-1)} \sum_{j \ne y_i} q_{ij} \log q_{ij} \in [-1, 0],
        \qquad L = \frac{\sum_i v_i \ell_i}{\sum_i v_i},
        \quad v_i = w_i (1 - p_{i y_i})^\alpha

    so minimising L flattens the scores of the wrong classes; samples whose
    true class is less certain weigh more. ``weights`` (optional, per sample:
    BA3US's class weights) and :math:`v` are constants.

    Example
    -------
    >>> logits = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.5, 0.25, 0.25]]))
    >>> round(float(complement_entropy_loss(logits[:1], torch.tensor([0]))), 4)  # (.6 ln .6 + .4 ln .4) / ln 2
    -0.971
    >>> round(float(complement_entropy_loss(logits[1:], torch.tensor([0]))), 4)  # flat complement
    -1.0
    >>> # both, v = 0.5 each: the mean; a weight of 0 on the second leaves the first
    >>> round(float(complement_entropy_loss(logits, torch.tensor([0, 0]))), 4)
    -0.9855
    >>> round(float(complement_entropy_loss(logits, torch.tensor([0, 0]), torch.tensor([1.0, 0.0]))), 4)
    -0.971
    """
    probs = logits.softmax(-1)
    n_classes = probs.shape[-1]
    if n_classes < 3:
        raise ValueError("the complement entropy needs at least 3 classes, got %d" % n_classes)
    p_true = probs.gather(1, labels.view(-1, 1))
    complement = probs / (1.0 - p_true + eps)
    wrong = torch.ones_like(probs).scatter_(1, labels.view(-1, 1), 0.0)
    per_sample = (wrong * complement * torch.log(complement + eps)).sum(1) / math.log(n_classes - 1)
    v = (1.0 - p_true.view(-1)).detach().pow(alpha)
    if weights is not None:
        v = v * weights.detach()
    return (v * per_sample).sum() / v.sum().clamp_min(eps)
