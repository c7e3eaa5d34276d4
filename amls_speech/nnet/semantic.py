"""ISRA's two networks: the class2vec autoencoder and the topic attention receptors."""

import torch


class Class2Vec(torch.nn.Module):
    """The class2vec machine f: X -> Z and its decoder h: Z -> X (the ISRA paper, Eq. 1).

    One hidden layer of ``n_topics`` units; each side is Linear + ReLU, as in
    the ISRA code (the paper says only "an auto-encoder with one hidden
    layer"). The features X are non-negative (they leave a ReLU), so the
    decoder's ReLU can reach them.

    Arguments
    ---------
    input_size : int
        d, the dimension of the backbone's bottleneck features.
    n_topics : int
        d_e, the number of implicit semantic topics.

    Example
    -------
    >>> c2v = Class2Vec(8, 3)
    >>> z, x_hat = c2v(torch.rand(5, 8))
    >>> z.shape, x_hat.shape
    (torch.Size([5, 3]), torch.Size([5, 8]))
    >>> bool((z >= 0).all())
    True
    """

    def __init__(self, input_size, n_topics):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(input_size, n_topics), torch.nn.ReLU())
        self.decoder = torch.nn.Sequential(torch.nn.Linear(n_topics, input_size), torch.nn.ReLU())

    def forward(self, x):
        """``(f(x), h(f(x)))``."""
        z = self.encoder(x)
        return z, self.decoder(z)


class TopicReceptors(torch.nn.Module):
    """d_e independent MLP regressors g_j: X -> R, d -> hidden -> 1 with ReLU, run as one batch.

    Receptor j has its own weights (``w1[j]``: ``(hidden, d)``, ``w2[j]``:
    ``(hidden,)``); stacking them lets one einsum evaluate all of them, and
    one batched backward give every input gradient dg_j/dX
    (:func:`amls_speech.semantic_alignment.receptor_attention`).

    Arguments
    ---------
    input_size : int
        d.
    n_topics : int
        d_e: one receptor per topic.
    hidden : int
        Units of each receptor's hidden layer (the ISRA code: 128).

    Example
    -------
    >>> g = TopicReceptors(6, n_topics=4, hidden=5)
    >>> g(torch.rand(3, 6)).shape
    torch.Size([3, 4])
    >>> g.first_layer_l1().shape  # one l1 norm per receptor
    torch.Size([4])
    """

    def __init__(self, input_size, n_topics, hidden=128):
        super().__init__()
        bound1, bound2 = input_size ** -0.5, hidden ** -0.5  # torch.nn.Linear's default ranges
        self.w1 = torch.nn.Parameter(torch.empty(n_topics, hidden, input_size).uniform_(-bound1, bound1))
        self.b1 = torch.nn.Parameter(torch.empty(n_topics, hidden).uniform_(-bound1, bound1))
        self.w2 = torch.nn.Parameter(torch.empty(n_topics, hidden).uniform_(-bound2, bound2))
        self.b2 = torch.nn.Parameter(torch.empty(n_topics).uniform_(-bound2, bound2))

    def forward(self, x):
        """``(n, d) -> (n, n_topics)``: column j is g_j(x)."""
        h = torch.relu(torch.einsum("nd,thd->nth", x, self.w1) + self.b1)
        return torch.einsum("nth,th->nt", h, self.w2) + self.b2

    def input_gradients(self, x):
        """``(n_topics, n, d)``: row i of slice j is dg_j(x_i)/dx_i, in closed form.

        For g_j(x) = w2_j . relu(W1_j x + b1_j) + b2_j the gradient is
        sum_h w2_jh 1[(W1_j x + b1_j)_h > 0] W1_jh: one einsum the size of
        the forward pass, where autograd would need one backward per topic.

        Example
        -------
        >>> g, x = TopicReceptors(3, n_topics=2, hidden=4), torch.rand(5, 3)
        >>> auto = torch.autograd.functional.jacobian(lambda v: g(v).sum(0), x)  # (topics, n, d)
        >>> bool(torch.allclose(g.input_gradients(x), auto, atol=1e-6))
        True
        """
        active = (torch.einsum("nd,thd->nth", x, self.w1) + self.b1 > 0).to(x.dtype)
        return torch.einsum("nth,th,thd->tnd", active, self.w2, self.w1)

    def first_layer_l1(self):
        """``||W1_j||_1`` for every receptor j: the sparsity term of L_reg (Eq. 2)."""
        return self.w1.abs().sum((1, 2))
