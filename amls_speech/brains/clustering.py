"""Heterogeneous adaptation by deep clustering: CKM-DA (Algorithm 1, Eq. 4) and its DEC / DCN baselines."""

import logging

import numpy as np
import speechbrain as sb
import torch
import torch.nn.functional as F

from amls_speech.brains.base import AdaptationBrain, unwrap
from amls_speech.clustering import (class_means, cluster_balance, concrete_kmeans_loss, dcn_loss, dcn_update,
                                    dec_loss, dec_soft_assignment, dec_target_distribution, hungarian_accuracy,
                                    kmeans, nearest_centroid, rbf_classifier, total_scatter)
from amls_speech.data import labels

logger = logging.getLogger(__name__)

CLUSTERINGS = ("ckm", "dec", "dcn")
KMEANS_NORMALIZATIONS = ("none", "total_scatter")


def average_over_processes(tensor, world_size):
    """The mean of ``tensor`` over the processes of the DDP group (in place; returned).

    Example
    -------
    >>> from unittest import mock
    >>> other = torch.tensor([4.0, 0.0])  # the same tensor on a second process
    >>> with mock.patch("torch.distributed.all_reduce", lambda t: t.add_(other)):  # the sum of both
    ...     average_over_processes(torch.tensor([2.0, 2.0]), world_size=2)
    tensor([3., 1.])
    """
    torch.distributed.all_reduce(tensor)
    return tensor.div_(world_size)


class DeepClustering(AdaptationBrain):
    """An autoencoder pre-trained on both domains, then a clustering loss on the target embeddings.

    Source and target label sets are disjoint: the source classifier G
    cannot name a target class, so target images are *clustered* and scored
    after the best one-to-one matching of clusters to target labels
    (:func:`~amls_speech.clustering.hungarian_accuracy`).

    Epochs 1..``pretrain_epochs``: L_AE, the reconstruction error, only.
    Then the centroids M start from k-means++ (plus ``kmeans_iterations``
    Lloyd steps) on the target adaptation embeddings, and each step
    minimises (Eq. 4 of the CKM-DA paper)

    .. math::
        L_{AE}(X_s \\cup X_t) + \\lambda_1 L_{clu}(X_t) + \\lambda_2 L_{CE}(X_s, Y_s)

    with L_clu the concrete k-means loss (``clustering: ckm``), DEC's
    KL(P || Q) or DCN's ||z - mu_s||^2 with its centroid update. The
    hparams pick the variant: ``ce_weight: 0`` (no source labels: the
    "Src+Targ clustering" baseline), ``reconstruct: target`` with
    ``ce_weight: 0`` ("Target clustering": the source plays no part) and
    ``ckm_encoder_on: source``, the other reading of the paper's Algorithm 1
    (the encoder gets L_CKM on *source* embeddings and no cross-entropy; the
    centroids L_CKM on the target).

    Expected modules: ``normalize``, ``extractor`` (the encoder f),
    ``decoder`` (g), ``classifier`` (q, on the source classes) and
    ``centroids`` (:class:`~amls_speech.clustering.Centroids`).

    With ``target_shots: k`` > 0 it is CKM-SSDA (Algorithm 2, Eq. 8): k
    labelled target images per class (a seeded draw from the adaptation
    set, whose labels are read for them only) initialise the centroids as
    their class means (Eq. 6), the RBF classifier r_M(z) = softmax(-||z -
    mu_j||^2) over the same centroids adds lambda_3 L_kshot on them, and a
    test image gets the class of its nearest centroid (no matching needed).

    Example
    -------
    >>> import speechbrain as sb
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(DeepClustering, pretrain_epochs=1)
    >>> brain.hparams.epoch_counter.current = 1  # pre-training: the autoencoder alone
    >>> sorted(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch))
    ['ae']
    >>> brain.hparams.epoch_counter.current = 2
    >>> brain.modules.centroids.set(torch.randn(3, brain.modules.extractor.out_features))
    >>> sorted(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch))
    ['ae', 'ce', 'cluster']
    """

    def on_fit_start(self):
        """Checks ``clustering``, ``ckm_encoder_on`` and ``kmeans_normalization`` before the base start."""
        if self.hparams.clustering not in CLUSTERINGS:
            raise ValueError("clustering must be one of %s, got %r" % (CLUSTERINGS, self.hparams.clustering))
        if getattr(self.hparams, "ckm_encoder_on", "target") not in ("target", "source"):
            raise ValueError("ckm_encoder_on must be 'target' (Eq. 4) or 'source' (Algorithm 1)")
        if getattr(self.hparams, "kmeans_normalization", "none") not in KMEANS_NORMALIZATIONS:
            raise ValueError("kmeans_normalization must be one of %s, got %r"
                             % (KMEANS_NORMALIZATIONS, self.hparams.kmeans_normalization))
        super().on_fit_start()

    @property
    def centroids(self):
        """The :class:`~amls_speech.clustering.Centroids` (its attributes, not its forward, are used)."""
        return unwrap(self.modules.centroids)

    def init_optimizers(self):
        """One optimizer; the centroids get an optimizer of their own at ``centroid_lr`` where it is set.

        The paper gives no rates (ours). The centroids' only gradient is the
        clustering loss, so under Adam their step is about ``centroid_lr``
        whatever ``cluster_weight`` is: this rate alone sets how fast they
        follow the embeddings as the encoder moves. ``None``: the shared
        ``opt_class`` rate. A second optimizer rather than a second parameter
        group, because SpeechBrain clips ``max_grad_norm`` over each
        optimizer's first group only; ``initial_lr`` keeps the rate under
        ``lr_annealing``.
        """
        lr = getattr(self.hparams, "centroid_lr", None)
        if lr is None:
            return super().init_optimizers()
        own = list(self.centroids.parameters())
        others = [p for p in self.modules.parameters() if all(p is not q for q in own)]
        self.optimizer = self.opt_class(others)
        self.centroid_optimizer = self.opt_class([{"params": own, "lr": lr, "initial_lr": lr}])
        # checkpointed under SpeechBrain's name for the first
        self.use_optimizers(optimizer=self.optimizer, centroid_optimizer=self.centroid_optimizer)

    def _wrap_distributed(self):
        """DDP as for every brain, except for the centroids, whose gradient is averaged by a hook.

        The losses read the centroid matrix directly, never through a module
        call, so DDP's reducer would not see it used; instead the centroids
        stay unwrapped and a gradient hook averages their gradient over the
        processes, as DDP does for the other parameters. All processes start
        from the same k-means (computed on the whole adaptation set by every
        one) and so keep the same centroids.
        """
        super()._wrap_distributed()
        if not self.distributed_launch:
            return
        self.modules["centroids"] = centroids = unwrap(self.modules["centroids"])
        world = torch.distributed.get_world_size()
        centroids.weight.register_hook(lambda g: average_over_processes(g.clone(), world))

    @property
    def clustering_started(self):
        """Whether the ``pretrain_epochs`` of autoencoder training alone are over."""
        return self.epoch > self.hparams.pretrain_epochs

    def on_stage_start(self, stage, epoch=None):
        """Adds :meth:`init_centroids` at the first training stage after pre-training, if not done yet."""
        super().on_stage_start(stage, epoch)
        if stage == sb.Stage.TRAIN and epoch > self.hparams.pretrain_epochs \
                and not bool(self.centroids.initialised):
            self.init_centroids()

    @property
    def semi_supervised(self):
        """CKM-SSDA: ``target_shots`` (default 0) labelled target images per class."""
        return getattr(self.hparams, "target_shots", 0) > 0

    def shots(self):
        """``(images, class indices, classes)``: the k labelled target images per class, seeded, kept."""
        if getattr(self, "_shots", None) is None:
            data, k = self.unlabelled_target, self.hparams.target_shots
            by_label = {}
            for i in data.data_ids:
                by_label.setdefault(data.data[i]["label"], []).append(i)
            classes, rng = sorted(by_label), np.random.default_rng(int(self.hparams.seed))
            position = {i: n for n, i in enumerate(data.data_ids)}
            ids, ys = [], []
            for c, label in enumerate(classes):
                if len(by_label[label]) < k:
                    raise ValueError("target_shots: %d labelled images of class %s asked for, the adaptation "
                                     "set has %d" % (k, label, len(by_label[label])))
                ids += [by_label[label][j] for j in sorted(rng.choice(len(by_label[label]), k, replace=False))]
                ys += [c] * k
            images = torch.stack([data[position[i]]["feats"] for i in ids])
            self._shots = (images, torch.tensor(ys), classes)
        return self._shots

    def embed_shots(self):
        """The labelled shots in the cluster space (:meth:`cluster_space`) and their class indices."""
        images, ys, _ = self.shots()
        x = images.to(self.device)
        z = self.modules.extractor(self.modules.normalize(x, torch.ones(len(x), device=self.device), epoch=self.epoch))
        return self.cluster_space(z), ys.to(self.device)

    @torch.no_grad()
    def init_centroids(self):
        """k-means++ then Lloyd on the target adaptation embeddings (no label is read); SSDA: class means of the shots."""
        if self.semi_supervised:
            self.modules.eval()
            z, ys = self.embed_shots()
            self.modules.train()
            self.centroids.set(class_means(z, ys, len(self.shots()[2])))
            logger.info("centroids: class means of %d labelled target images per class", self.hparams.target_shots)
            return
        with torch.random.fork_rng(devices=[]):  # the loader's draws leave training unchanged
            z = torch.from_numpy(self.collect(self.unlabelled_target, self.eval_loader_kwargs,
                                              lambda out: self.cluster_space(out["z"])))
        self.centroids.set(self.fit_kmeans(z).to(self.centroids.weight))
        logger.info("centroids: k-means++ and %d Lloyd steps on %d target embeddings",
                    getattr(self.hparams, "kmeans_iterations", 10), len(z))

    def fit_kmeans(self, z):
        """k-means++ (seeded by the run's seed) and ``kmeans_iterations`` Lloyd steps on embeddings ``z``."""
        gen = torch.Generator().manual_seed(int(self.hparams.seed))
        return kmeans(z, self.hparams.n_clusters, getattr(self.hparams, "kmeans_iterations", 10), gen)

    def compute_forward(self, batch, stage):
        """Training: both halves in one pass, with the normalised input ``x`` and ``recon`` for L_AE."""
        if stage != sb.Stage.TRAIN:
            return super().compute_forward(batch, stage)
        batch = batch.to(self.device)
        (xs, ls), (xt, lt) = batch.source.feats, batch.target.feats
        x = self.modules.normalize(torch.cat([xs, xt]), torch.cat([ls, lt]), epoch=self.epoch)
        z = self.modules.extractor(x)
        return {"x": x, "z": z, "recon": self.modules.decoder(z), "logits": self.modules.classifier(z),
                "n_source": xs.shape[0]}

    def cluster_space(self, z):
        """Where the clustering happens: the unit sphere (``cluster_space: sphere``) or the raw embedding.

        On raw embeddings the clustering losses have a way out that costs the
        autoencoder nothing: shrink every embedding (the decoder's first layer
        scales back up) and L_clu goes to zero, with all target images in one
        cluster (seen on MM2MN-het: L_CKM 0.15 -> 0.01 and one cluster at
        test). On the sphere the scale is fixed.
        """
        return F.normalize(z, dim=-1) if getattr(self.hparams, "cluster_space", "sphere") == "sphere" else z

    def temperature(self):
        """The Gumbel-softmax temperature: annealed geometrically from tau_0 to tau_min over clustering."""
        tau0, tau_min = self.hparams.temperature, getattr(self.hparams, "temperature_min", self.hparams.temperature)
        p = self.training_progress()
        start = self.hparams.pretrain_epochs / self.hparams.epoch_counter.limit
        frac = min(1.0, max(0.0, (p - start) / max(1e-9, 1 - start)))
        return tau0 * (tau_min / tau0) ** frac

    def train_losses(self, out, batch):
        """``ae``; after pre-training also ``ce`` (``ce_weight`` > 0), ``cluster``, (CKM-SSDA) ``kshot``."""
        n = out["n_source"]
        x, z, recon = out["x"], out["z"], out["recon"]
        rows = slice(n, None) if getattr(self.hparams, "reconstruct", "both") == "target" else slice(None)
        terms = {"ae": F.mse_loss(recon[rows], x[rows])}
        if not self.clustering_started:
            return terms
        if self.hparams.ce_weight > 0:
            zs = z[:n] if getattr(self.hparams, "ckm_encoder_on", "target") == "target" else z[:n].detach()
            terms["ce"] = self.hparams.ce_weight * F.cross_entropy(self.modules.classifier(zs), labels(batch.source))
        zc = self.cluster_space(z)
        terms["cluster"] = self.hparams.cluster_weight * self.clustering_loss(zc[:n], zc[n:])
        if self.semi_supervised:  # Eq. 8: the RBF classifier on the labelled shots
            z_shots, ys = self.embed_shots()
            terms["kshot"] = self.hparams.kshot_weight * F.nll_loss(
                rbf_classifier(z_shots, self.centroids.weight), ys)
        return terms

    def clustering_loss(self, zs, zt):
        """L_clu of the ``clustering`` hparam on cluster-space source and target embeddings.

        CKM's concrete k-means loss (on ``zt``, or the Algorithm 1 reading
        with ``ckm_encoder_on: source``), DEC's KL(P || Q) or DCN's loss; DCN
        first moves the centroids (averaged over the processes under DDP).
        """
        m = self.centroids
        kind = self.hparams.clustering
        if kind == "ckm":
            opts = dict(temperature=self.temperature(), reduction="mean",
                        scale=getattr(self.hparams, "assignment_scale", 1.0),
                        hard=getattr(self.hparams, "straight_through", True))
            if getattr(self.hparams, "ckm_encoder_on", "target") == "source":  # Algorithm 1's reading
                return (self.normalized(concrete_kmeans_loss(zs, m.weight.detach(), **opts), zs)
                        + self.normalized(concrete_kmeans_loss(zt.detach(), m.weight, **opts), zt.detach()))
            return self.normalized(concrete_kmeans_loss(zt, m.weight, **opts), zt)
        if kind == "dec":
            q = dec_soft_assignment(zt, m.weight)
            return dec_loss(q, dec_target_distribution(q))  # P from this batch (DEC refreshes it every T steps)
        mu, counts, assign = dcn_update(zt, m.weight, m.counts)  # centroids first, network fixed
        if self.distributed_launch:  # each process updated from its own shard: their mean, kept equal
            world = torch.distributed.get_world_size()
            mu, counts = average_over_processes(mu, world), average_over_processes(counts, world)
        with torch.no_grad():
            m.weight.copy_(mu)
            m.counts.copy_(counts)
        return self.normalized(dcn_loss(zt, m.weight, assign), zt)

    def normalized(self, loss, z):
        """A k-means loss (CKM's, DCN's) over the batch's :func:`~amls_speech.clustering.total_scatter`, if asked.

        ``kmeans_normalization: total_scatter`` (ours): W / T, which gathering
        every embedding in one small cap of the sphere no longer lowers;
        ``none``: W, the papers' loss.
        """
        if getattr(self.hparams, "kmeans_normalization", "none") == "total_scatter":
            return loss / total_scatter(z).clamp_min(1e-12)
        return loss

    def test(self, test_set, adapt_set, loader_kwargs, rule=None):
        """Target test images -> nearest centroid -> best matching to their labels (read here only)."""
        rule = self.recover_selected(rule)
        if not bool(self.centroids.initialised):  # trained the autoencoder only: AE + k-means
            self.init_centroids()
        def embed(dataset):
            """Cluster-space embeddings of ``dataset``, in its order."""
            return torch.from_numpy(self.collect(dataset, loader_kwargs, lambda out: self.cluster_space(out["z"])))

        z_test, z_adapt = embed(test_set), embed(adapt_set)
        clusters = self.centroids.assign(z_test.to(self.centroids.weight)).cpu().numpy()
        # label-free: how the unlabelled adaptation images spread over the clusters
        balance = cluster_balance(self.centroids.assign(z_adapt.to(self.centroids.weight)).cpu().numpy(),
                                  self.hparams.n_clusters)
        # label-free: how far apart the centroids ended (near 0: they merged, and the embeddings with them)
        spread = float(torch.pdist(self.centroids.weight.detach().float()).min()) if self.hparams.n_clusters > 1 \
            else float("nan")
        truth = [test_set.data[i]["label"] for i in test_set.data_ids]
        # a diagnostic that reads the test labels: k-means fitted afresh on the final adaptation
        # embeddings, to tell a latent space that lost the grouping from centroids that lag behind it
        refit = nearest_centroid(z_test, self.fit_kmeans(z_adapt)).numpy()
        self.label_diagnostics = {"refit_kmeans_accuracy": hungarian_accuracy(refit, truth)[0]}
        if self.semi_supervised:  # centroid j is class j: no matching
            classes = self.shots()[2]
            accuracy = float(np.mean([classes[c] == t for c, t in zip(clusters.tolist(), truth)]))
            mapping = dict(enumerate(classes))
        else:
            accuracy, mapping = hungarian_accuracy(clusters, truth)
        self.test_records = []
        self.hparams.train_logger.log_stats(stats_meta={"target test, selection": rule},
                                            test_stats={"clustering accuracy": round(accuracy, 4)})
        nan = float("nan")
        return dict(score=accuracy, accuracy=accuracy, h_score=nan, shared_accuracy=nan, unknown_accuracy=nan,
                    cluster_to_label={str(k): v for k, v in mapping.items()}, n_test=len(truth), threshold=None,
                    checkpoint_selection=rule, selected_epoch=self.hparams.epoch_counter.current,
                    threshold_rule="none (clustering)", adaptation_cluster_balance=balance,
                    centroid_min_distance=spread)
