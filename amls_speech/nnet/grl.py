"""Gradient reversal layer (Ganin & Lempitsky, 2015).

Forward: :math:`R(x) = x`. Backward: :math:`\\partial R / \\partial x = -\\lambda I`.
Placed between the feature extractor and a domain discriminator, one backward
pass trains the discriminator to separate the domains and the extractor to
confuse it (the min-max of the DANN objective).
"""

import torch


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, coeff):
        """A view of ``x``; ``coeff`` is kept for the backward pass."""
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        """The incoming gradient times ``-coeff`` (and none for ``coeff``)."""
        return -ctx.coeff * grad_output, None


def grad_reverse(x, coeff=1.0):
    """Identity forward, gradient multiplied by ``-coeff`` backward.

    Example
    -------
    >>> x = torch.ones(2, requires_grad=True)
    >>> grad_reverse(x, 0.5).sum().backward()
    >>> x.grad
    tensor([-0.5000, -0.5000])
    """
    return _ReverseGrad.apply(x, float(coeff))


class GradientReversal(torch.nn.Module):
    """Module form of :func:`grad_reverse`; ``coeff`` (lambda) may change every step.

    Arguments
    ---------
    coeff : float
        The reversal strength lambda.

    Example
    -------
    >>> grl = GradientReversal(coeff=2.0)
    >>> x = torch.ones(3, requires_grad=True)
    >>> y = grl(x)
    >>> torch.equal(y, x)
    True
    >>> y.sum().backward(); x.grad
    tensor([-2., -2., -2.])
    """

    def __init__(self, coeff=1.0):
        super().__init__()
        self.coeff = coeff

    def forward(self, x):
        """:func:`grad_reverse` of ``x`` with this module's ``coeff``."""
        return grad_reverse(x, self.coeff)
