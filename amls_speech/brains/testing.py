"""A tiny, fully wired Brain and batch, for doctests and unit tests."""

import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.processing.features import InputNormalization

from amls_speech.clustering import Centroids
from amls_speech.data import PairedBatch
from amls_speech.nnet import Classifier, CNNExtractor, Discriminator
from amls_speech.nnet.semantic import Class2Vec, TopicReceptors
from amls_speech.schedules import Progress
from amls_speech.selection import EpochThreshold


class _Logger:
    def log_stats(self, *args, **kwargs):
        """Discards the stats (a stand-in for SpeechBrain's ``FileTrainLogger``)."""
        pass


def tiny_batch(n=4, frames=12, coeffs=8, n_classes=3, seed=0):
    """A PairedBatch of ``n`` source and ``n`` target random feature maps.

    The maps are ``(frames, coeffs)``, drawn from a generator seeded with
    ``seed``; source example ``i`` has class ``i % n_classes``, the target
    half has no label.

    Example
    -------
    >>> batch = tiny_batch(n=2)
    >>> batch.source.feats.data.shape, batch.target.id
    (torch.Size([2, 12, 8]), ['t0', 't1'])
    >>> batch.source.label_id.data.view(-1).tolist(), hasattr(batch.target, "label_id")
    ([0, 1], False)
    """
    gen = torch.Generator().manual_seed(seed)

    def items(prefix, labelled):
        """``n`` items with ids ``prefix0``, ``prefix1``, ...; with a ``label_id`` if ``labelled``."""
        out = []
        for i in range(n):
            item = {"id": "%s%d" % (prefix, i), "feats": torch.randn(frames, coeffs, generator=gen)}
            if labelled:
                item["label_id"] = torch.tensor([i % n_classes])
            out.append(item)
        return out

    return PairedBatch(PaddedBatch(items("s", True)), PaddedBatch(items("t", False)))


def tiny_brain(brain_class, n_classes=3, frames=12, coeffs=8, **hparams):
    """``(brain, batch)``: a ``brain_class`` over 1-layer nets and a random batch.

    Example
    -------
    >>> from amls_speech.brains import DANN
    >>> brain, batch = tiny_brain(DANN)
    >>> brain.compute_forward(batch, sb.Stage.TRAIN)["logits"].shape
    torch.Size([8, 3])
    """
    torch.manual_seed(0)
    extractor = CNNExtractor([4], (frames, coeffs))
    modules = {
        "normalize": InputNormalization(norm_type="sentence"),
        "extractor": extractor,
        "target_extractor": CNNExtractor([4], (frames, coeffs)),
        "classifier": Classifier(extractor.out_features, n_classes, hidden=[8]),
        "discriminator": Discriminator(extractor.out_features, hidden=[8]),
        "aux_discriminator": Discriminator(extractor.out_features, hidden=[8]),
        "pseudo_threshold": EpochThreshold("fixed", fixed=0.0),
        # the deep-clustering brain's autoencoder half and centroid matrix
        "decoder": torch.nn.Sequential(torch.nn.Linear(extractor.out_features, frames * coeffs),
                                       torch.nn.Unflatten(1, (frames, coeffs))),
        "centroids": Centroids(n_classes, extractor.out_features),
        # ISRA's class2vec autoencoder and topic receptors
        "class2vec": Class2Vec(extractor.out_features, 2),
        "receptors": TopicReceptors(extractor.out_features, 2, hidden=4),
    }
    classes = ["c%d" % i for i in range(n_classes)]
    defaults = dict(
        epoch_counter=sb.utils.epoch_loop.EpochCounter(1),
        classes=classes,
        shared_classes=classes[:2],
        checkpoint_selection="last",
        threshold_rule="fixed",
        threshold=0.0,
        weight_normalization="none",
        pseudo_weight=1.0,
        source_temperature=10.0,
        target_temperature=1.0,
        pretrain_epochs=1,
        target_opt_class=lambda p: torch.optim.Adam(p, lr=1e-3),
        disc_opt_class=lambda p: torch.optim.Adam(p, lr=1e-3),
        train_logger=_Logger(),
        clustering="ckm",
        ce_weight=1.0,
        cluster_weight=1.0,
        temperature=1.0,
        n_clusters=n_classes,
        seed=0,
        isra_alpha=0.1,
        isra_beta=0.5,
        receptor_l1=0.5,
        attention_gradient="output",
        attention_normalization="topic",
        alignment_reduction="sum",
    )
    defaults.update(hparams)
    brain = brain_class(
        modules=modules,
        opt_class=lambda p: torch.optim.SGD(p, lr=0.01),
        hparams=defaults,
        run_opts={"device": "cpu"},
    )
    brain.progress = Progress(1, 1)
    brain.init_optimizers()
    return brain, tiny_batch(frames=frames, coeffs=coeffs, n_classes=n_classes)
