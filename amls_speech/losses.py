"""Loss terms shared by the adversarial methods, with optional per-sample weights and Go-labels; prediction entropy."""

import numpy as np
import torch
import torch.nn.functional as F


GO_LABEL_RULES = ("none", "rounded", "soft", "zero_out")


def prediction_entropy(probs, eps=1e-7):
    r"""Entropy of each row of ``probs``, :math:`H(p) = -\sum_c p_c \log (p_c + \epsilon)` (natural log).

    BA3US minimises it on the target; UAN's weights use it over its maximum
    (:func:`amls_speech.uan_weights.normalized_entropy`); the label-free
    checkpoint scores of :mod:`amls_speech.selection` read it from numpy
    arrays, which it takes too.

    Example
    -------
    >>> [round(v, 4) for v in prediction_entropy(torch.tensor([[0.5, 0.5], [1.0, 0.0]])).tolist()]
    [0.6931, -0.0]
    >>> round(float(prediction_entropy(np.array([0.25, 0.25, 0.5]))), 4)
    1.0397
    """
    log = torch.log if torch.is_tensor(probs) else np.log
    return (-probs * log(probs + eps)).sum(-1)


def go_labels(d_logits, domain, rule="rounded"):
    """Go-getting domain labels (Jin et al., Eq. 3) and the weight of each sample.

    .. math::
        g_i = \\frac{d_i + \\mathrm{Round}(\\tilde d_i)}{2}

    with :math:`\\tilde d_i = D(F(x_i))` detached: a sample the discriminator
    gets right keeps its label; an aligned one (a source sample with
    :math:`\\tilde d < 0.5`, a target one with :math:`\\tilde d > 0.5`) gets 0.5.
    ``Round`` is ``torch.round`` as in the paper's code, which rounds half to
    even: at exactly 0.5 a source sample is relabelled and a target one is not.
    The paper's ablations: ``soft`` uses :math:`(d + \\tilde d)/2` unrounded;
    ``zero_out`` keeps the labels and drops aligned samples (weight 0).

    Arguments
    ---------
    d_logits : torch.Tensor
        Discriminator logits.
    domain : float
        The domain label, 1 for source and 0 for target.
    rule : str
        ``none``, ``rounded``, ``soft`` or ``zero_out``.

    Returns
    -------
    (torch.Tensor, torch.Tensor or None)
        The BCE targets and per-sample weights (None: all ones).

    Example
    -------
    >>> logits = torch.logit(torch.tensor([0.3, 0.5, 0.8]))
    >>> go_labels(logits, 1.0)[0]  # source: aligned at 0.3 and (half to even) at 0.5
    tensor([0.5000, 0.5000, 1.0000])
    >>> go_labels(logits, 0.0)[0]  # target: aligned at 0.8 only
    tensor([0.0000, 0.0000, 0.5000])
    >>> go_labels(logits, 0.0, "soft")[0]
    tensor([0.1500, 0.2500, 0.4000])
    >>> go_labels(logits, 1.0, "zero_out")[1]
    tensor([0., 0., 1.])
    """
    if rule not in GO_LABEL_RULES:
        raise ValueError("go_labels must be one of %s, got %r" % (GO_LABEL_RULES, rule))
    d = torch.full_like(d_logits, float(domain))
    if rule == "none":
        return d, None
    p = torch.sigmoid(d_logits.detach().float()).to(d_logits.dtype)
    if rule == "rounded":
        return (d + torch.round(p)) / 2, None
    if rule == "soft":
        return (d + p) / 2, None
    return d, (torch.round(p) == d).to(d_logits.dtype)


def domain_adversarial_loss(d_source, d_target, w_source=None, w_target=None, go_label_rule="none"):
    """Weighted domain cross-entropy, source labelled 1 and target 0.

    .. math::
        L = -\\frac{1}{n_s}\\sum_i w^s_i \\log D(z^s_i)
            -\\frac{1}{n_t}\\sum_j w^t_j \\log(1 - D(z^t_j))

    With unit weights this is DANN's domain loss; AMLS (Eq. 2) and UAN weight
    each sample. The discriminator minimises it; behind a gradient reversal
    layer the feature extractor maximises it. With ``go_label_rule`` the fixed
    labels 1 / 0 become the Go-labels of :func:`go_labels` (same loss, for D
    and, reversed, for F).

    Arguments
    ---------
    d_source, d_target : torch.Tensor
        Discriminator logits, shape ``(n_s,)`` and ``(n_t,)``.
    w_source, w_target : torch.Tensor, optional
        Per-sample weights (treated as constants).
    go_label_rule : str
        ``none`` (the fixed labels) or a rule of :func:`go_labels`.

    Example
    -------
    >>> zero = torch.zeros(2)  # D = 0.5 everywhere: each term is log 2
    >>> round(domain_adversarial_loss(zero, zero).item(), 4)
    1.3863
    >>> w = torch.tensor([1.0, 0.0])
    >>> round(domain_adversarial_loss(zero, zero, w, w).item(), 4)
    0.6931
    >>> # Go-labels: a source sample at D = 0.5 gets label 0.5, the target one keeps 0
    >>> round(domain_adversarial_loss(zero, zero, go_label_rule="rounded").item(), 4)
    1.3863
    """
    losses = []
    for logits, domain, weight in ((d_source, 1.0, w_source), (d_target, 0.0, w_target)):
        targets, go_weight = go_labels(logits, domain, go_label_rule)
        loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        if weight is not None:
            loss = loss * weight.detach()
        if go_weight is not None:
            loss = loss * go_weight
        losses.append(loss.mean())
    return losses[0] + losses[1]
