"""AMLS sample weights (the AMLS paper, section 3, Eqs. 4-7).

Target weight:  delta_T(x) = 0.5 * (M(x) + D_0(x)), with the margin
M(x) = yhat_(1) - yhat_(2) (top-1 minus top-2 class probability) and D_0(x)
the non-adversarial discriminator's probability that x is source-like.

Source weight:  delta_S(x_s) = eta[y_s], with
eta = (1/|B|) * sum_i G(F(x_t^i)) * delta_T(x_t^i), the batch mean of the
target class probabilities weighted by the target weights. Source classes
the target batch does not seem to contain get little weight.

The paper does not say whether eta is rescaled; ``normalize_eta`` offers
``none`` (the paper's formula) and ``max`` (divide by its maximum so that the
most target-like class has weight 1; the hparams file says which is used).
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


def class_weights(target_probs, delta_t, normalize="none"):
    """eta = mean_i p_i * delta_T_i over the target batch (Eq. 7).

    Example
    -------
    >>> p = torch.tensor([[0.8, 0.2], [0.6, 0.4]])
    >>> class_weights(p, torch.tensor([1.0, 0.5]))
    tensor([0.5500, 0.2000])
    >>> class_weights(p, torch.tensor([1.0, 0.5]), normalize="max")
    tensor([1.0000, 0.3636])
    """
    eta = (target_probs * delta_t.unsqueeze(1)).mean(dim=0).detach()
    if normalize == "max":
        return eta / eta.max().clamp(min=1e-12)
    if normalize != "none":
        raise ValueError("normalize_eta must be 'none' or 'max', got %r" % normalize)
    return eta


def source_weights(eta, labels):
    """delta_S(x_s) = eta[y_s].

    Example
    -------
    >>> source_weights(torch.tensor([0.55, 0.2]), torch.tensor([1, 0, 1]))
    tensor([0.2000, 0.5500, 0.2000])
    """
    return eta[labels]
