"""UAN sample-level transferability (You et al., CVPR 2019, Eqs. 6-7).

w_s(x) = H(yhat)/log|C_s| - D'(x)      (source: uncertain and target-like -> shared)
w_t(x) = D'(x) - H(yhat)/log|C_s|      (target: confident and source-like -> shared)

H is the prediction entropy normalised by its maximum log|C_s| and D' the
non-adversarial discriminator's source probability. During training the
official code (main.py of thuml/Universal-Domain-Adaptation) softens the class
logits behind the entropy with temperature 10 for w_s and 1 for w_t (at 10 the
target entropy is almost constant, so w_t would be D' alone); both weights are
then min-max normalised per batch and divided by their batch mean. At test
time w_t uses temperature 1 and is not normalised.
"""

import math

import torch

from amls_speech.losses import prediction_entropy


def normalized_entropy(probs, eps=1e-10):
    """H(p) / log(K) per row, in [0, 1].

    Example
    -------
    >>> normalized_entropy(torch.tensor([[0.5, 0.5], [1.0, 0.0]]))
    tensor([1., 0.])
    """
    h = prediction_entropy(probs, eps).clamp(min=0.0)
    return h / math.log(probs.shape[-1])


def source_transferability(logits, d_prob, temperature=1.0):
    """w_s = H(softmax(logits / T)) / log|C_s| - D'(x), detached.

    The official training loop uses T = 10 here (T = 1 at test time).

    Example
    -------
    >>> source_transferability(torch.zeros(1, 4), torch.tensor([0.25]))
    tensor([0.7500])
    >>> source_transferability(torch.tensor([[math.log(3.0), 0.0]]), torch.tensor([0.5]), 10.0)
    tensor([0.4978])
    """
    probs = torch.softmax(logits / temperature, dim=-1)
    return (normalized_entropy(probs) - d_prob).detach()


def target_transferability(logits, d_prob, temperature=1.0):
    """w_t = D'(x) - H(softmax(logits / T)) / log|C_s|, detached.

    The official code uses T = 1 both in training and at test time: at T = 10
    the entropy term is almost constant and w_t would be D' alone.

    Example
    -------
    >>> target_transferability(torch.zeros(1, 4), torch.tensor([0.25]))
    tensor([-0.7500])
    >>> logits = torch.tensor([[math.log(3.0), 0.0]])  # p = (3/4, 1/4) at T = 1
    >>> target_transferability(logits, torch.tensor([0.5]))
    tensor([-0.3113])
    >>> target_transferability(logits, torch.tensor([0.5]), 10.0)  # H near its maximum
    tensor([-0.4978])
    """
    return -source_transferability(logits, d_prob, temperature)


def normalize_batch(w, eps=1e-12):
    """Min-max to [0, 1], then divided by the batch mean (official UAN code).

    Example
    -------
    >>> normalize_batch(torch.tensor([0.0, 1.0, 2.0]))
    tensor([0., 1., 2.])
    >>> normalize_batch(torch.tensor([-1.0, 0.0, 3.0]))
    tensor([0.0000, 0.6000, 2.4000])
    """
    w = (w - w.min()) / (w.max() - w.min()).clamp(min=eps)
    return (w / w.mean().clamp(min=eps)).detach()
