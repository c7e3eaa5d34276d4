"""Deep clustering for heterogeneous adaptation: concrete k-means (CKM), DEC and DCN, and their scoring.

CKM (the CKM-DA paper, Eq. 2) trains centroids and encoder together through a
Gumbel-softmax assignment; DEC (Xie et al.) and DCN (Yang et al.) are the
baselines it replaces in Algorithm 1. A clustering is scored against labels
after the best one-to-one matching of clusters to classes (Hungarian).
"""

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment


def squared_distances(z, centroids):
    """``(N, K)`` matrix of ||z_i - mu_j||^2.

    Example
    -------
    >>> squared_distances(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[1.0, 0.0]]))
    tensor([[1.],
            [1.]])
    """
    return (z.unsqueeze(1) - centroids.unsqueeze(0)).pow(2).sum(-1)


def nearest_centroid(z, centroids):
    """The index of each embedding's nearest centroid (squared Euclidean distance).

    Example
    -------
    >>> nearest_centroid(torch.tensor([[0.0], [2.9], [9.0]]), torch.tensor([[0.0], [3.0]]))
    tensor([0, 1, 1])
    """
    return squared_distances(z, centroids).argmin(-1)


def gumbel_noise(shape, generator=None):
    """Standard Gumbel samples, -log(-log U), U ~ Uniform(0, 1) (U clamped away from 0 and 1).

    Example
    -------
    >>> g = gumbel_noise((2, 50000), generator=torch.Generator().manual_seed(0))
    >>> g.shape, round(float(g.mean()), 1)  # the Gumbel mean: Euler's constant, 0.577...
    (torch.Size([2, 50000]), 0.6)
    """
    u = torch.rand(shape, generator=generator).clamp(1e-10, 1 - 1e-10)
    return -torch.log(-torch.log(u))


def concrete_assignment(z, centroids, temperature=1.0, hard=True, noise=None, generator=None, scale=1.0):
    r"""The one-hot h_i of CKM: a Gumbel-softmax sample parameterised by the distances to the centroids.

    .. math::
        y_i = \mathrm{softmax}\big((-\beta \|z_i - \mu_j\|^2 + g_{ij}) / \tau\big)_j,
        \qquad g_{ij} \sim \mathrm{Gumbel}(0, 1)

    The paper says only "parameterised by the distance"; the logits are the
    negative squared distances times ``scale`` beta (our reading; beta = 1 is
    the literal one). The temperature does not change which centroid a hard
    sample picks, argmax(logits + g); beta does: it sets how far the noise
    can move an embedding off its nearest centroid (on the unit sphere the
    distances are at most 4, so at beta = 1 the noise often wins).
    ``hard``: the straight-through estimator, a one-hot forward pass with
    the gradient of ``y`` (the paper's "one-hot vector"); otherwise ``y``.

    Arguments
    ---------
    z : torch.Tensor
        Embeddings, ``(N, D)``.
    centroids : torch.Tensor
        ``(K, D)``.
    temperature : float
        tau > 0; small values approach the hard nearest-centroid assignment.
    hard : bool
        Straight-through one-hot (True) or the soft sample.
    noise : torch.Tensor, optional
        The Gumbel noise ``(N, K)`` (default: drawn); zeros give the
        deterministic softmax of the distances.
    generator : torch.Generator, optional
        For the drawn noise.
    scale : float
        beta > 0, the logits' factor on the squared distances.

    Example
    -------
    >>> z = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    >>> mu = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    >>> concrete_assignment(z, mu, noise=torch.zeros(2, 2))  # nearest centroid, one-hot
    tensor([[1., 0.],
            [0., 1.]])
    >>> soft = concrete_assignment(z, mu, hard=False, noise=torch.zeros(2, 2))
    >>> [round(v, 4) for v in soft[1].tolist()]  # softmax(-4, -1)
    [0.0474, 0.9526]
    >>> noise = torch.tensor([[0.0, 0.0], [4.0, 0.0]])  # favours z_1's far centroid: -4 + 4 > -1
    >>> concrete_assignment(z, mu, noise=noise)[1].tolist()
    [1.0, 0.0]
    >>> concrete_assignment(z, mu, noise=noise, scale=3.0)[1].tolist()  # -12 + 4 < -3
    [0.0, 1.0]
    """
    if temperature <= 0:
        raise ValueError("the Gumbel-softmax temperature must be > 0, got %r" % temperature)
    if scale <= 0:
        raise ValueError("the assignment scale beta must be > 0, got %r" % scale)
    logits = -scale * squared_distances(z, centroids)
    if noise is None:
        noise = gumbel_noise(logits.shape, generator).to(logits)
    y = F.softmax((logits + noise) / temperature, dim=-1)
    if not hard:
        return y
    one_hot = F.one_hot(y.argmax(-1), y.shape[-1]).to(y)
    return one_hot - y.detach() + y  # forward: one-hot; backward: the soft sample's gradient


def concrete_kmeans_loss(z, centroids, temperature=1.0, hard=True, noise=None, generator=None,
                         reduction="sum", scale=1.0):
    r"""L_CKM of the CKM-DA paper (Eq. 2): :math:`\sum_i \|z_i - h_i M\|^2`.

    Gradients reach the embeddings (the encoder) and the centroids M, through
    the assignment too (straight-through when ``hard``). ``reduction``:
    ``sum`` (the paper) or ``mean`` over samples.

    Example
    -------
    >>> z = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    >>> mu = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    >>> concrete_kmeans_loss(z, mu, noise=torch.zeros(2, 2))  # 0 + (2 - 3)^2
    tensor(1.)
    """
    h = concrete_assignment(z, centroids, temperature, hard, noise, generator, scale)
    per_sample = (z - h @ centroids).pow(2).sum(-1)
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "mean":
        return per_sample.mean()
    raise ValueError("reduction must be 'sum' or 'mean', got %r" % reduction)


def total_scatter(z):
    r"""T, the mean squared distance of the embeddings to their mean: :math:`\frac{1}{N} \sum_i \|z_i - \bar z\|^2`.

    A k-means loss W divided by it (W / T, one minus the clustering's R^2) is
    blind to the scale of the embeddings: gathering them all in one small
    region, which lowers W at no cost to a decoder that scales back up, no
    longer lowers the loss.

    Example
    -------
    >>> total_scatter(torch.tensor([[0.0, 0.0], [2.0, 0.0]]))  # each 1 from their mean (1, 0)
    tensor(1.)
    """
    return (z - z.mean(0)).pow(2).sum(-1).mean()


def kmeans_plus_plus(z, k, generator=None):
    """k-means++ seeding (Arthur & Vassilvitskii): each next centroid drawn with probability ~ D(x)^2.

    Example
    -------
    >>> z = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
    >>> mu = kmeans_plus_plus(z, 2, torch.Generator().manual_seed(0))
    >>> sorted(round(float(m) / 10) for m in mu)  # one seed in each group
    [0, 1]
    """
    z = z.detach()
    if not 1 <= k <= len(z):
        raise ValueError("k-means++ needs 1 <= k <= %d samples, got k=%d" % (len(z), k))
    first = int(torch.randint(len(z), (1,), generator=generator))
    chosen = [first]
    d2 = squared_distances(z, z[first:first + 1]).squeeze(1)
    for _ in range(1, k):
        if float(d2.sum()) == 0:  # every point is already a centroid: any other will do
            nxt = int(torch.randint(len(z), (1,), generator=generator))
        else:
            nxt = int(torch.multinomial(d2 / d2.sum(), 1, generator=generator))
        chosen.append(nxt)
        d2 = torch.minimum(d2, squared_distances(z, z[nxt:nxt + 1]).squeeze(1))
    return z[chosen].clone()


def hungarian_accuracy(clusters, labels):
    """Accuracy after the best one-to-one matching of cluster ids to labels, and that matching.

    The clustering accuracy of DEC, DCN and CKM: the contingency table of
    clusters against labels is matched by ``scipy.optimize.linear_sum_assignment``
    (maximum total agreement). Clusters left unmatched (more clusters than
    labels) count as errors.

    Example
    -------
    >>> acc, mapping = hungarian_accuracy([1, 1, 0, 0, 2], [5, 5, 7, 7, 7])
    >>> acc, mapping
    (0.8, {0: 7, 1: 5})
    """
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    if clusters.shape != labels.shape or clusters.size == 0:
        raise ValueError("hungarian_accuracy needs equally long, non-empty clusters and labels, got "
                         "%s and %s" % (clusters.shape, labels.shape))
    cluster_ids, label_ids = np.unique(clusters), np.unique(labels)
    table = np.zeros((len(cluster_ids), len(label_ids)), dtype=np.int64)
    np.add.at(table, (np.searchsorted(cluster_ids, clusters), np.searchsorted(label_ids, labels)), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = {cluster_ids[r].item(): label_ids[c].item() for r, c in zip(rows, cols)}
    return float(table[rows, cols].sum() / clusters.size), dict(sorted(mapping.items()))


def cluster_balance(clusters, n_clusters):
    """How evenly samples spread over the clusters: entropy of the cluster shares over log k.

    1 when every cluster holds the same share, 0 when one holds all. Reads no
    label, so it can choose a knob on the unlabelled adaptation set (a
    clustering that collapses into few clusters cannot match k balanced
    classes).

    Example
    -------
    >>> cluster_balance([0, 1, 2, 3], 4)
    1.0
    >>> cluster_balance([2, 2, 2, 2], 4)
    0.0
    >>> round(cluster_balance([0, 0, 0, 1], 2), 4)  # -(0.75 ln 0.75 + 0.25 ln 0.25) / ln 2
    0.8113
    """
    counts = np.bincount(np.asarray(clusters, dtype=np.int64), minlength=n_clusters)
    if n_clusters < 2 or counts.sum() == 0:
        raise ValueError("cluster_balance needs at least 2 clusters and one sample, got %d clusters and %d "
                         "samples" % (n_clusters, counts.sum()))
    shares = counts[counts > 0] / counts.sum()
    return float(abs(-(shares * np.log(shares)).sum() / np.log(n_clusters)))


def dec_soft_assignment(z, centroids, alpha=1.0):
    r"""DEC's q_ij: a Student's t kernel between embedding and centroid, normalised over clusters.

    .. math::
        q_{ij} = \frac{(1 + \|z_i - \mu_j\|^2/\alpha)^{-(\alpha+1)/2}}
                      {\sum_{j'} (1 + \|z_i - \mu_{j'}\|^2/\alpha)^{-(\alpha+1)/2}}

    Example
    -------
    >>> q = dec_soft_assignment(torch.tensor([[0.0]]), torch.tensor([[0.0], [1.0]]))
    >>> [round(v, 4) for v in q[0].tolist()]  # kernels 1 and 1/2
    [0.6667, 0.3333]
    """
    kernel = (1 + squared_distances(z, centroids) / alpha).pow(-(alpha + 1) / 2)
    return kernel / kernel.sum(-1, keepdim=True)


def dec_target_distribution(q):
    r"""DEC's auxiliary target p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij.

    Squaring sharpens confident assignments; dividing by the cluster
    frequency f_j keeps large clusters from taking over. Treated as a
    constant (detached) when DEC minimises KL(P || Q).

    Example
    -------
    >>> q = torch.tensor([[0.5, 0.5], [0.9, 0.1]])  # f = (1.4, 0.6)
    >>> [[round(v, 4) for v in row] for row in dec_target_distribution(q).tolist()]
    [[0.3, 0.7], [0.972, 0.028]]
    """
    weight = q.pow(2) / q.sum(0, keepdim=True)
    return (weight / weight.sum(-1, keepdim=True)).detach()


def dec_loss(q, p):
    """KL(P || Q), summed over clusters, averaged over samples (DEC's clustering loss).

    Example
    -------
    >>> q = torch.tensor([[0.5, 0.5]])
    >>> round(float(dec_loss(q, torch.tensor([[1.0, 0.0]]))), 4)  # log(1 / 0.5)
    0.6931
    """
    return (p * (torch.log(p.clamp_min(1e-12)) - torch.log(q.clamp_min(1e-12)))).sum(-1).mean()


def dcn_update(z, centroids, counts):
    r"""DCN's centroid step (Yang et al., Algorithm 1), with the network held fixed.

    Each sample is assigned to its nearest centroid, s_i = argmin_k
    ||z_i - mu_k||^2; then, sample by sample, the count of its centroid grows
    by one and the centroid moves towards it with step 1/c_k:
    :math:`\mu_k \leftarrow \mu_k - \frac{1}{c_k}(\mu_k - z_i)`. The network
    step in between minimises (lambda/2) ||z_i - mu_{s_i}||^2 with the
    centroids fixed (:func:`dcn_loss`).

    Returns the new centroids, the new counts and the assignments.

    Example
    -------
    >>> mu, counts, s = dcn_update(torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [10.0]]),
    ...                            torch.tensor([1.0, 1.0]))
    >>> [round(v, 4) for v in mu.squeeze(1).tolist()], counts.tolist(), s.tolist()  # 0 -> 1/2 -> 1/2 + (3 - 1/2)/3
    ([1.3333, 10.0], [3.0, 1.0], [0, 0])
    """
    z, mu, counts = z.detach(), centroids.detach().clone(), counts.clone()
    assignments = nearest_centroid(z, mu)
    for i, k in enumerate(assignments.tolist()):
        counts[k] += 1
        mu[k] = mu[k] - (mu[k] - z[i]) / counts[k]
    return mu, counts, assignments


def dcn_loss(z, centroids, assignments):
    """DCN's clustering term for the network: mean of ||z_i - mu_{s_i}||^2 / 2 (centroids constant).

    Example
    -------
    >>> float(dcn_loss(torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0]]), torch.tensor([0, 0])))
    2.5
    """
    return 0.5 * (z - centroids.detach()[assignments]).pow(2).sum(-1).mean()


def rbf_classifier(z, centroids):
    r"""CKM-SSDA's classifier tied to the centroids: r(z)_j = softmax_j(-||z - mu_j||^2), as log-probabilities.

    Example
    -------
    >>> out = rbf_classifier(torch.tensor([[0.0]]), torch.tensor([[0.0], [1.0]])).exp()
    >>> [round(v, 4) for v in out[0].tolist()]  # softmax(0, -1)
    [0.7311, 0.2689]
    """
    return F.log_softmax(-squared_distances(z, centroids), dim=-1)


def class_means(z, labels, n_classes):
    """Centroid j = mean embedding of the labelled examples of class j (CKM-SSDA's Eq. 6, balanced shots).

    Example
    -------
    >>> class_means(torch.tensor([[0.0], [2.0], [5.0]]), torch.tensor([0, 0, 1]), 2).squeeze(1).tolist()
    [1.0, 5.0]
    """
    counts = torch.bincount(labels, minlength=n_classes)
    if (counts == 0).any():
        raise ValueError("class_means: no labelled example of class(es) %s"
                         % torch.nonzero(counts == 0).flatten().tolist())
    sums = torch.zeros(n_classes, z.shape[1], dtype=z.dtype).index_add_(0, labels, z.detach())
    return sums / counts.unsqueeze(1).to(z.dtype)


def lloyd(z, centroids, iterations=10):
    """Lloyd's k-means iterations from ``centroids`` (an empty cluster keeps its centroid).

    Example
    -------
    >>> z = torch.tensor([[0.0], [1.0], [9.0], [11.0]])
    >>> lloyd(z, torch.tensor([[0.0], [1.0]]), 5).squeeze(1).tolist()
    [0.5, 10.0]
    """
    z, mu = z.detach(), centroids.detach().clone()
    for _ in range(iterations):
        assign = nearest_centroid(z, mu)
        for k in range(len(mu)):
            members = z[assign == k]
            if len(members):
                mu[k] = members.mean(0)
    return mu


def kmeans(z, k, iterations=10, generator=None):
    """k-means++ seeding, then ``iterations`` Lloyd steps: the k x dim centroids of ``z``.

    Example
    -------
    >>> z = torch.tensor([[0.0], [1.0], [9.0], [11.0]])
    >>> sorted(kmeans(z, 2, 5, torch.Generator().manual_seed(0)).squeeze(1).tolist())
    [0.5, 10.0]
    """
    return lloyd(z, kmeans_plus_plus(z, k, generator), iterations)


class Centroids(torch.nn.Module):
    """The k x dim centroid matrix M, a parameter of the model (checkpointed with it).

    ``counts`` (DCN's per-centroid sample counts) and ``initialised`` are
    buffers, so that a resumed run neither re-seeds the centroids nor loses
    DCN's step sizes.

    Example
    -------
    >>> m = Centroids(3, 2)
    >>> m.weight.shape, bool(m.initialised)
    (torch.Size([3, 2]), False)
    >>> m.assign(torch.zeros(1, 2)).shape
    torch.Size([1])
    """

    def __init__(self, n_clusters, dim):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(n_clusters, dim))
        self.register_buffer("counts", torch.zeros(n_clusters))
        self.register_buffer("initialised", torch.tensor(False))

    def set(self, centroids):
        """Puts ``centroids`` in place (k-means++ then Lloyd, or DCN's update)."""
        with torch.no_grad():
            self.weight.copy_(centroids)
        self.initialised.fill_(True)

    def assign(self, z):
        """The nearest centroid of every embedding: the cluster id a test sample gets."""
        return nearest_centroid(z, self.weight)
