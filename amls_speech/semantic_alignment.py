"""ISRA's implicit semantic response alignment (the ISRA paper, Sec. 3): attention masks and their loss.

The class2vec autoencoder learns d_e topic codes f(X) of the bottleneck
features X (Eq. 1); topic receptors g_j regress the j-th code from X (Eq. 2); the absolute input gradients A_j = |dg_j/dX| say which feature
dimensions carry topic j. The masks M_j = N(A_j) * X (element-wise) of source
and target rows are aligned topic by topic (Eq. 3). The receptors train on
detached inputs and targets and never back-propagate into the model; the
attention is a constant, the features X are not.

The paper and its public code differ; the paper is the default, the code's
readings are options: the gradient of the receptor's *output* (paper) or of
its regression *loss* (code); N as the l2 norm of each A_j (our reading of
"l2 normalization") or the code's whole-batch norm times the batch size; the
column *sums* of Eq. 3 or the code's mean squared error of column means.
"""

import torch
import torch.nn.functional as F


def pada_class_weights(target_probs):
    r"""PADA's class weights: the target's mean predicted distribution, divided by its maximum.

    .. math::
        \gamma = \frac{1}{n_t}\sum_i \hat y_i, \qquad \gamma \leftarrow \gamma / \max_c \gamma_c

    Source classes the target does not hold get small weights; they scale the
    source classification loss and the domain loss of source samples (Cao et
    al., PADA). Treated as a constant.

    Example
    -------
    >>> [round(v, 4) for v in pada_class_weights(torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1]])).tolist()]
    [1.0, 0.5, 0.1667]
    """
    gamma = target_probs.detach().mean(0)
    return gamma / gamma.max()


def receptor_attention(receptors, x, gradient_of="output", targets=None):
    """A_j = |d g_j / d X| for every receptor: ``(n_topics, n, d)``, detached.

    A receptor's rows depend on their own input row only, so row i of A_j is
    |dg_j(x_i)/dx_i|. Receptors with an ``input_gradients`` method give them
    in closed form; for any other module one batched backward pass
    (``is_grads_batched``) gives all d_e of them.

    Arguments
    ---------
    receptors : torch.nn.Module
        ``(n, d) -> (n, n_topics)``: column j is g_j
        (:class:`~amls_speech.nnet.semantic.TopicReceptors`).
    x : torch.Tensor
        Bottleneck features ``(n, d)``; only their values are used.
    gradient_of : str
        ``output`` (the paper: the gradient of g_j(x)) or ``loss`` (the
        public code: of (g_j(x) - f(x)_j)^2, which scales each row by twice
        its residual; needs ``targets``).
    targets : torch.Tensor, optional
        The class2vec codes f(x), ``(n, n_topics)``, for ``gradient_of="loss"``.

    Example
    -------
    >>> g = torch.nn.Linear(2, 1, bias=False)  # one linear receptor
    >>> with torch.no_grad():
    ...     _ = g.weight.copy_(torch.tensor([[3.0, -1.0]]))
    >>> receptor_attention(g, torch.zeros(2, 2))[0].tolist()  # |w| on every row
    [[3.0, 1.0], [3.0, 1.0]]
    >>> # the loss gradient: 2 * residual * w; residuals -1 and 0.5 for targets 1 and -0.5
    >>> receptor_attention(g, torch.zeros(2, 2), "loss", torch.tensor([[1.0], [-0.5]]))[0].tolist()
    [[6.0, 2.0], [3.0, 1.0]]
    """
    if gradient_of not in ("output", "loss"):
        raise ValueError("gradient_of must be 'output' or 'loss', got %r" % gradient_of)
    if gradient_of == "loss" and targets is None:
        raise ValueError("gradient_of='loss' needs the class2vec codes (targets)")
    x = x.detach()
    if hasattr(receptors, "input_gradients"):  # closed form, the cost of one forward pass
        with torch.no_grad():
            grads = receptors.input_gradients(x)
    else:
        x = x.requires_grad_(True)
        with torch.enable_grad():
            out = receptors(x)
            n, topics = out.shape
            # grad_outputs[j] selects column j: d(sum_i g_j(x_i))/dx
            seed = torch.eye(topics, dtype=out.dtype, device=out.device).unsqueeze(1).expand(topics, n, topics)
            grads = torch.autograd.grad(out, x, grad_outputs=seed, is_grads_batched=True)[0]
    if gradient_of == "loss":  # d/dx (g_j - f_j)^2 = 2 (g_j - f_j) dg_j/dx, row by row
        with torch.no_grad():
            residuals = receptors(x.detach()) - targets.detach()
        grads = grads * (2 * residuals).t().unsqueeze(-1)
    return grads.abs().detach()


def class2vec_loss(x, x_hat, n_source):
    r"""L_c2v (the ISRA paper, Eq. 1): mean squared l2 reconstruction error of each domain, summed.

    .. math::
        L_{c2v} = \frac{1}{n_s}\sum_i \|x^s_i - h(f(x^s_i))\|^2 + \frac{1}{n_t}\sum_i \|x^t_i - h(f(x^t_i))\|^2

    ``x`` is not detached: the paper minimises L_c2v over the backbone too.

    Example
    -------
    >>> x = torch.tensor([[1.0, 1.0], [0.0, 0.0], [2.0, 0.0]])
    >>> float(class2vec_loss(x, torch.zeros(3, 2), n_source=1))  # 2 + (0 + 4) / 2
    4.0
    """
    err = (x - x_hat).pow(2).sum(1)
    return err[:n_source].mean() + err[n_source:].mean()


def receptor_loss(receptors, x, codes, l1_weight=0.5):
    r"""L_reg (the ISRA paper, Eq. 2): each receptor regresses its topic, with l1 on its first layer.

    .. math::
        L_{reg} = \frac{1}{d_e}\sum_j \Big[\sum_i (f(x_i)_j - g_j(x_i))^2 + \lambda_{reg}\|W_{1,j}\|_1\Big]

    over the source and target rows together (sums, as in Eq. 2). Inputs and
    codes are detached: the receptors learn from the model and never send a
    gradient into it.

    Example
    -------
    >>> from amls_speech.nnet.semantic import TopicReceptors
    >>> g = TopicReceptors(2, n_topics=2, hidden=1)
    >>> with torch.no_grad():
    ...     for p in g.parameters():
    ...         _ = p.zero_()
    ...     g.w1[0, 0, 0] = 2.0  # l1 norms (2, 0); every output 0
    >>> codes = torch.tensor([[1.0, 0.0], [1.0, 2.0]])  # squared errors: topic 0: 1 + 1, topic 1: 0 + 4
    >>> receptor_loss(g, torch.zeros(2, 2), codes).item()  # ((2 + 0.5 * 2) + (4 + 0)) / 2
    3.5
    """
    residuals = (receptors(x.detach()) - codes.detach()).pow(2).sum(0)
    return (residuals + l1_weight * receptors.first_layer_l1()).mean()


def attention_masks(attention, x, normalization="topic"):
    """M_j = N(A_j) * X: ``(n_topics, n, d)``; gradients reach X, not A.

    ``normalization``: ``topic`` (each A_j divided by its l2 norm over the
    whole ``(n, d)`` matrix: our reading of the paper's N), ``batch`` (the
    public code: all of A by its l2 norm times the batch size n) or ``none``.

    Example
    -------
    >>> a = torch.tensor([[[3.0, 4.0]]])  # one topic, one row: ||A_1|| = 5
    >>> attention_masks(a, torch.tensor([[1.0, 2.0]])).tolist()
    [[[0.6000000238418579, 1.600000023841858]]]
    """
    a = attention.detach()
    if normalization == "topic":
        a = a / a.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    elif normalization == "batch":
        a = a / (a.norm().clamp_min(1e-12) * a.shape[1])
    elif normalization != "none":
        raise ValueError("normalization must be 'topic', 'batch' or 'none', got %r" % normalization)
    return a * x.unsqueeze(0)


def response_alignment_loss(masks_source, masks_target, reduction="sum"):
    r"""ISRA's L_a (Eq. 3): :math:`\sum_j \|\mathrm{colsum}(M_j^s) - \mathrm{colsum}(M_j^t)\|^2`.

    ``reduction``: ``sum`` (the paper's column sums; source and target
    batches of equal size) or ``mean`` (the public code: the mean squared
    error between column means, averaged over topics and dimensions).

    Example
    -------
    >>> ms = torch.tensor([[[1.0, 0.0], [1.0, 2.0]]])  # column sums (2, 2)
    >>> mt = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])  # column sums (1, 1)
    >>> float(response_alignment_loss(ms, mt))  # (2 - 1)^2 + (2 - 1)^2
    2.0
    >>> float(response_alignment_loss(ms, mt, reduction="mean"))  # ((1 - .5)^2 + (1 - .5)^2) / 2
    0.25
    """
    if reduction == "sum":
        return (masks_source.sum(1) - masks_target.sum(1)).pow(2).sum()
    if reduction == "mean":
        return F.mse_loss(masks_source.mean(1), masks_target.mean(1))
    raise ValueError("reduction must be 'sum' or 'mean', got %r" % reduction)
