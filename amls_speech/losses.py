"""Loss terms shared by the adversarial methods, with optional per-sample weights."""

import torch
import torch.nn.functional as F


def domain_adversarial_loss(d_source, d_target, w_source=None, w_target=None):
    """Weighted domain cross-entropy, source labelled 1 and target 0.

    .. math::
        L = -\\frac{1}{n_s}\\sum_i w^s_i \\log D(z^s_i)
            -\\frac{1}{n_t}\\sum_j w^t_j \\log(1 - D(z^t_j))

    With unit weights this is DANN's domain loss; AMLS (Eq. 2) and UAN weight
    each sample. The discriminator minimises it; behind a gradient reversal
    layer the feature extractor maximises it.

    Arguments
    ---------
    d_source, d_target : torch.Tensor
        Discriminator logits, shape ``(n_s,)`` and ``(n_t,)``.
    w_source, w_target : torch.Tensor, optional
        Per-sample weights (treated as constants).

    Example
    -------
    >>> zero = torch.zeros(2)  # D = 0.5 everywhere: each term is log 2
    >>> round(domain_adversarial_loss(zero, zero).item(), 4)
    1.3863
    >>> w = torch.tensor([1.0, 0.0])
    >>> round(domain_adversarial_loss(zero, zero, w, w).item(), 4)
    0.6931
    """
    ls = F.binary_cross_entropy_with_logits(d_source, torch.ones_like(d_source), reduction="none")
    lt = F.binary_cross_entropy_with_logits(d_target, torch.zeros_like(d_target), reduction="none")
    if w_source is not None:
        ls = ls * w_source.detach()
    if w_target is not None:
        lt = lt * w_target.detach()
    return ls.mean() + lt.mean()
