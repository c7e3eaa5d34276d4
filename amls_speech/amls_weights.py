"""AMLS sample weights (the AMLS paper, section 3, Eqs. 4-7).

Target weight:  delta_T(x) = 0.5 * (M(x) + D_0(x)), with the margin
M(x) = yhat_(1) - yhat_(2) (top-1 minus top-2 class probability) and D_0(x)
the non-adversarial discriminator's probability that x is source-like.

Source weight:  delta_S(x_s) = eta[y_s], with
eta = (1/|B|) * sum_i G(F(x_t^i)) * delta_T(x_t^i), the batch mean of the
target class probabilities weighted by the target weights. Source classes
the target batch does not seem to contain get little weight.

The paper does not say whether the weights are rescaled before they enter
L_adv. As written, delta_T has a batch mean near 0.1 at the start of
adaptation and eta shrinks with |C_S|, so at the same reversal strength AMLS
would align about ten times more weakly than UAN, whose weights are divided
by their batch mean. :func:`adversarial_weights` offers ``none`` (the paper
as written), ``max`` (eta divided by its maximum, delta_T raw) and ``mean``
(delta_S and delta_T each divided by its batch mean, as UAN's); the hparams
file says which is used. Thresholds (delta_p, delta_0) always see the raw
delta_T.
"""

import torch


def margin(probs):
    """Top-1 minus top-2 probability per row.

    Example
    -------
    >>> margin(torch.tensor([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]]))
    tensor([0.5000, 0.0000])
    """
    top2 = probs.topk(2, dim=-1).values
    return top2[:, 0] - top2[:, 1]


def target_weights(probs, d0_prob):
    """delta_T = 0.5 * (margin + D_0), detached.

    Example
    -------
    >>> target_weights(torch.tensor([[0.7, 0.2, 0.1]]), torch.tensor([0.3]))
    tensor([0.4000])
    """
    return (0.5 * (margin(probs) + d0_prob)).detach()


def class_weights(target_probs, delta_t):
    """eta = mean_i p_i * delta_T_i over the target batch (Eq. 7).

    Example
    -------
    >>> p = torch.tensor([[0.8, 0.2], [0.6, 0.4]])
    >>> class_weights(p, torch.tensor([1.0, 0.5]))
    tensor([0.5500, 0.2000])
    """
    return (target_probs * delta_t.unsqueeze(1)).mean(dim=0).detach()


def source_weights(eta, labels):
    """delta_S(x_s) = eta[y_s].

    Example
    -------
    >>> source_weights(torch.tensor([0.55, 0.2]), torch.tensor([1, 0, 1]))
    tensor([0.2000, 0.5500, 0.2000])
    """
    return eta[labels]


WEIGHT_NORMALIZATIONS = ("none", "max", "mean")


def adversarial_weights(eta, labels, delta_t, normalize="mean", eps=1e-12):
    """(w_s, w_t) for L_adv: delta_S = eta[y_s] and delta_T, rescaled by ``normalize``.

    Example
    -------
    >>> eta, y, dt = torch.tensor([0.4, 0.1]), torch.tensor([0, 1]), torch.tensor([0.2, 0.05, 0.05])
    >>> adversarial_weights(eta, y, dt, "none")
    (tensor([0.4000, 0.1000]), tensor([0.2000, 0.0500, 0.0500]))
    >>> adversarial_weights(eta, y, dt, "max")[0]
    tensor([1.0000, 0.2500])
    >>> w_s, w_t = adversarial_weights(eta, y, dt, "mean")
    >>> w_s, w_t  # batch means are 1
    (tensor([1.6000, 0.4000]), tensor([2.0000, 0.5000, 0.5000]))
    """
    if normalize not in WEIGHT_NORMALIZATIONS:
        raise ValueError("weight_normalization must be one of %s, got %r" % (WEIGHT_NORMALIZATIONS, normalize))
    if normalize == "max":
        eta = eta / eta.max().clamp(min=eps)
    w_s, w_t = source_weights(eta, labels), delta_t
    if normalize == "mean":
        w_s, w_t = w_s / w_s.mean().clamp(min=eps), w_t / w_t.mean().clamp(min=eps)
    return w_s.detach(), w_t.detach()
