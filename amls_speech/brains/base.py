"""What every adaptation method shares: batches, schedules, validation, testing.

A method subclasses :class:`AdaptationBrain` and writes ``train_losses`` (a
dict of named loss terms for one half-source half-target batch). Open-set
methods also write ``rejection_scores`` (higher = more like a shared class);
a target sample scoring below the calibrated threshold is predicted "unknown".
"""

import logging

import numpy as np
import speechbrain as sb
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader

from amls_speech.data import PairedBatch, labels
from amls_speech.diagnostics import rejection_signals
from amls_speech.metrics import OpenSetStats
from amls_speech.resume import TrainingState
from amls_speech.schedules import Progress, dann_lambda
from amls_speech.selection import (choose_threshold, domain_confusion, information_maximization,
                                   source_domain_score, target_certainty)

logger = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """A training loss term became NaN or infinite; the message names the term, epoch and step."""


def unwrap(module):
    """The module inside a DistributedDataParallel wrapper (or ``module`` itself).

    Example
    -------
    >>> layer = torch.nn.Linear(2, 2)
    >>> unwrap(layer) is layer  # not wrapped: returned as it is
    True
    """
    return module.module if isinstance(module, DDP) else module

# Checkpoint selection rules, all blind to target labels:
#   last            the final epoch
#   source_valid    the best accuracy on the labelled source validation set
#   target_infomax  the best information maximisation on the unlabelled target
#                   adaptation set (selection.information_maximization)
#   target_entropy  the lowest mean prediction entropy on that set (the ISRA
#                   code's rule; selection.target_certainty)
#   source_domain   the DANN paper's heuristic: high source validation accuracy
#                   plus high domain-classifier error (selection.source_domain_score);
#                   methods with a ``discriminator`` only
# ``selection_alternatives`` (hparams, optional) names further rules whose
# checkpoints are kept and scored after the run's own, for comparison.
SELECTION_KEYS = {"last": None, "source_valid": "source_acc", "target_infomax": "target_im",
                  "target_entropy": "target_certainty", "source_domain": "source_domain"}
# what a warm start takes from the source-only run (the discriminators start afresh)
WARM_START_MODULES = ("normalize", "extractor", "classifier")


class AdaptationBrain(sb.Brain):
    """Base Brain for source-labelled, target-unlabelled training.

    Expected ``modules``: ``normalize`` (``InputNormalization``), ``extractor``
    (F) and ``classifier`` (G), plus whatever the method adds. Expected
    ``hparams``: ``epoch_counter``, ``classes`` (source classes in index order),
    ``shared_classes`` (for the score), ``checkpoint_selection`` and, for
    open-set methods, ``threshold_rule`` and ``threshold``. Optional:
    ``lr_annealing`` (an ``AnnealedLR``), ``grl_gamma`` (the lambda_p
    schedule's gamma), ``adversarial_weight`` (a constant factor on lambda_p,
    1 in the papers) and ``go_labels`` (:func:`amls_speech.losses.go_labels`),
    used by the adversarial methods; ``channels_last`` (default True: the
    networks train in the NHWC memory format, faster on the CPU, the same
    values up to float rounding; False: PyTorch's default NCHW).

    The training batch is a :class:`~amls_speech.data.PairedBatch`; validation
    batches are labelled source data, test batches labelled target data.

    Example
    -------
    >>> from amls_speech.brains.testing import tiny_brain
    >>> class CrossEntropyOnly(AdaptationBrain):
    ...     trains_on_target = False
    ...     def train_losses(self, out, batch):
    ...         return {"cls": self.source_ce(out, batch)}
    >>> brain, batch = tiny_brain(CrossEntropyOnly)
    >>> out = brain.compute_forward(batch, sb.Stage.TRAIN)
    >>> out["n_source"], out["logits"].shape
    (4, torch.Size([4, 3]))
    >>> brain.on_stage_start(sb.Stage.TRAIN, epoch=1)
    >>> loss = brain.compute_objectives(out, batch, sb.Stage.TRAIN)
    >>> list(brain.loss_terms), bool(loss > 0)
    (['cls'], True)
    >>> brain.open_set, brain.predict(out)[1] is None  # closed set: no rejection scores
    (False, True)
    """

    open_set = False  # True for methods that can answer "unknown"
    trains_on_target = True  # False: the target half of a batch is not fed forward

    # ------------------------------------------------------------------ training
    def fit(self, epoch_counter, train_set, valid_set=None, progressbar=None,
            train_loader_kwargs={}, valid_loader_kwargs={}):
        """SpeechBrain's ``fit``, over pairs drawn by the dataset's own sampler.

        The selection rules are checked first, and a
        :class:`~amls_speech.data.PairedDataset`'s unlabelled target half is
        kept for the label-free selection rules at validation. Unless
        ``train_set`` is already a DataLoader, its pairs come from
        :meth:`~amls_speech.data.PairedDataset.sampler` (hparams
        ``source_balance``, default ``none``; reshuffled every epoch), and a
        ``shuffle`` loader option is dropped.
        """
        self.check_selection_rules()  # fail before training, not after
        # the unlabelled target half, for label-free selection at validation
        self.unlabelled_target = getattr(train_set, "target", None)
        self.eval_loader_kwargs = valid_loader_kwargs
        if not isinstance(train_set, DataLoader):
            # the pairs come from the dataset's own sampler, reshuffled every epoch
            train_loader_kwargs = {k: v for k, v in train_loader_kwargs.items() if k != "shuffle"}
            balance = getattr(self.hparams, "source_balance", "none")
            self.train_sampler = train_set.sampler(balance)  # set_epoch'ed by Brain (DDP wraps it)
            train_loader_kwargs.update(collate_fn=PairedBatch.collate, sampler=self.train_sampler)
            train_set = self.make_dataloader(train_set, sb.Stage.TRAIN, **train_loader_kwargs)
        self.progress = Progress(epoch_counter.limit, len(train_set))
        super().fit(epoch_counter, train_set, valid_set, progressbar,
                    train_loader_kwargs, valid_loader_kwargs)

    def selection_rules(self):
        """The run's own checkpoint selection rule, then its ``selection_alternatives`` that apply.

        ``source_domain`` needs a domain classifier: as an alternative it is
        skipped on methods without one.
        """
        rules = [self.hparams.checkpoint_selection]
        for rule in getattr(self.hparams, "selection_alternatives", None) or []:
            if rule not in rules and (rule != "source_domain" or self.has_domain_classifier):
                rules.append(rule)
        return rules

    @property
    def has_domain_classifier(self):
        """Whether the method has a module ``discriminator`` (the ``source_domain`` rule needs one)."""
        return getattr(self.modules, "discriminator", None) is not None

    def check_selection_rules(self):
        """Raises ValueError for an unknown rule, or for ``source_domain`` with no domain classifier.

        ``source_domain`` fails only as the run's own ``checkpoint_selection``;
        as an alternative it is skipped (:meth:`selection_rules`).
        """
        rules = [self.hparams.checkpoint_selection]
        rules += list(getattr(self.hparams, "selection_alternatives", None) or [])
        unknown = [r for r in rules if r not in SELECTION_KEYS]
        if unknown:
            raise ValueError("checkpoint_selection and selection_alternatives must be among %s, got %r"
                             % (sorted(SELECTION_KEYS), unknown))
        if self.hparams.checkpoint_selection == "source_domain" and not self.has_domain_classifier:
            raise ValueError("checkpoint_selection 'source_domain' needs a domain classifier (module "
                             "'discriminator'); %s has none: use source_valid or last"
                             % type(self).__name__)

    def use_optimizers(self, **optimizers):
        """Makes ``optimizers`` the ones ``fit_batch`` steps, each checkpointed under its name.

        For a Brain with more than one optimizer, or parameter groups of its
        own, in place of SpeechBrain's single ``opt_class`` over every
        parameter.

        Example
        -------
        >>> from amls_speech.brains import DANN
        >>> from amls_speech.brains.testing import tiny_brain
        >>> brain, _ = tiny_brain(DANN)
        >>> brain.use_optimizers(optimizer=torch.optim.SGD(brain.modules.parameters(), lr=0.1))
        >>> list(brain.optimizers_dict)
        ['optimizer']
        """
        self.optimizers_dict = dict(optimizers)
        if self.checkpointer is not None:
            for name, opt in self.optimizers_dict.items():
                self.checkpointer.add_recoverable(name, opt)

    def apply_memory_format(self):
        """Puts the convolution weights in NHWC (``channels_last``, the default) memory; False: NCHW.

        oneDNN's CPU convolutions are faster on NHWC tensors (a whole training
        step, ``bench/bench_precision.py``); a convolution's output follows its
        weight's format, and the values are the same up to float rounding.

        Example
        -------
        >>> from amls_speech.brains import DANN
        >>> from amls_speech.brains.testing import tiny_brain
        >>> brain, _ = tiny_brain(DANN)
        >>> brain.apply_memory_format()
        >>> y = brain.modules.extractor.convs[0](torch.zeros(2, 1, 12, 8))  # the first convolution
        >>> y.is_contiguous(memory_format=torch.channels_last), y.is_contiguous()
        (True, False)
        """
        if getattr(self.hparams, "channels_last", True):
            self.modules.to(memory_format=torch.channels_last)

    def on_fit_start(self):
        """Adds the memory format, the training state, a clearer error, and the warm start of a fresh run.

        The :class:`~amls_speech.resume.TrainingState` is registered with the
        checkpointer before SpeechBrain resumes; a checkpoint that does not
        fit the model is named with what to do about it.
        """
        self.apply_memory_format()
        fresh = self.checkpointer is None or self.checkpointer.find_checkpoint() is None
        self.training_state = TrainingState(self)
        if self.checkpointer is not None and "training_state" not in self.checkpointer.recoverables:
            self.checkpointer.add_recoverable("training_state", self.training_state)
        try:
            super().on_fit_start()  # resumes from the latest checkpoint, if any
        except RuntimeError as err:
            if "state_dict" not in str(err):
                raise
            raise RuntimeError(
                "the checkpoint in %s does not fit this model: it was written with other hparams "
                "(another label partition or network). Give this run its own output_folder, or "
                "delete that folder to start over. (%s)"
                % (self.checkpointer.checkpoints_dir, str(err).splitlines()[0])) from err
        if fresh and getattr(self.hparams, "warm_start", False):
            self.warm_start(self.hparams.warm_start_folder)

    def warm_start(self, folder):
        """Loads F, G and the input normalisation from a source-only run's checkpoint.

        The adversarial methods of the papers start from trained networks;
        here every one of them starts from the source-only model of the same
        task and seed (its checkpoint of best source-validation accuracy), so
        the adaptation, not a second source training, is what differs. A
        resumed run skips this: its own checkpoint holds the adapted weights.
        """
        modules = {name: unwrap(getattr(self.modules, name)) for name in WARM_START_MODULES}
        source_run = sb.utils.checkpoints.Checkpointer(folder, recoverables=modules)
        if source_run.find_checkpoint() is None:
            raise FileNotFoundError(
                "warm_start: no source-only checkpoint in %s. Train the source_only recipe with the "
                "same task, seed and results_root first (amls-bench runs it before the other "
                "methods), or set warm_start: False" % folder)
        source_run.recover_if_possible(max_key="source_acc")
        logger.info("warm start from the source-only checkpoint in %s", folder)

    def _wrap_distributed(self):
        """DDP for every trainable module, BatchNorm synchronised only where torch can.

        SpeechBrain converts every BatchNorm to ``SyncBatchNorm`` under DDP,
        which works on CUDA only ("SyncBatchNorm layers only work with GPU
        modules" on CPU). Here ``sync_batchnorm`` (hparams, default True)
        applies on CUDA; on CPU (gloo) each process normalises with the
        statistics of its own batch, and DDP broadcasts rank 0's running
        statistics at every forward, so all processes test the same model.
        """
        if not self.distributed_launch:
            return super()._wrap_distributed()
        cuda = str(self.device).startswith("cuda")
        sync = cuda and getattr(self.hparams, "sync_batchnorm", True)
        for name, module in self.modules.items():
            if any(p.requires_grad for p in module.parameters()):
                if sync:
                    module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
                self.modules[name] = DDP(module, device_ids=[self.device] if cuda else None,
                                         find_unused_parameters=self.find_unused_parameters)

    @property
    def epoch(self):
        """The epoch counter's current epoch (counted from 1 once training runs)."""
        return self.hparams.epoch_counter.current

    def training_progress(self):
        """Progress p in [0, 1] over all training steps (DANN schedules)."""
        return self.progress(self.epoch, self.step)

    @property
    def go_label_rule(self):
        """``go_labels`` of the hparams (default ``none``): the domain labels of the reversed loss."""
        return getattr(self.hparams, "go_labels", "none")

    def adaptation_factor(self):
        """Gradient reversal strength: ``adversarial_weight`` x lambda_p of the DANN paper."""
        lam = dann_lambda(self.training_progress(), getattr(self.hparams, "grl_gamma", 10.0))
        return getattr(self.hparams, "adversarial_weight", 1.0) * lam

    def resume_state(self):
        """Running sums of the current epoch that a mid-epoch checkpoint must keep."""
        return {"loss_terms": dict(self.loss_terms)}

    def load_resume_state(self, state):
        """Puts back what :meth:`resume_state` returned."""
        self.loss_terms = dict(state["loss_terms"])

    def restore_training_state(self):
        """Puts back the generators and running sums of an intra-epoch checkpoint (once, if resumed)."""
        state = getattr(self, "training_state", None)
        if state is not None:
            state.apply()

    def on_fit_batch_start(self, batch, should_step):
        """Restores an intra-epoch checkpoint's state (once); anneals the rates by ``lr_annealing`` if set."""
        self.restore_training_state()
        annealing = getattr(self.hparams, "lr_annealing", None)
        if annealing is not None:
            for opt in self.optimizers_dict.values():
                annealing(opt, self.training_progress())

    def embed(self, feats, lens, domain="source"):
        """Normalised features -> z = F(x); ``domain`` lets ADDA pick its encoder."""
        feats = self.modules.normalize(feats, lens, epoch=self.epoch)
        return self.modules.extractor(feats)

    def compute_forward(self, batch, stage):
        """``z`` and ``logits``; a training batch's :meth:`training_rows` go through in one pass.

        Training adds ``n_source`` (the rows before it are the source half)
        and the extra outputs of :meth:`training_rows`. Validation batches
        take the source path through :meth:`embed`, test batches the target one.
        """
        batch = batch.to(self.device)
        if stage != sb.Stage.TRAIN:
            feats, lens = batch.feats
            z = self.embed(feats, lens, "target" if stage == sb.Stage.TEST else "source")
            return {"z": z, "logits": self.modules.classifier(z)}
        rows, extra = self.training_rows(batch)
        z = self.embed(torch.cat([x for x, _ in rows]), torch.cat([lens for _, lens in rows]))
        return {"z": z, "logits": self.modules.classifier(z), "n_source": batch.source.feats.data.shape[0],
                **extra}

    def training_rows(self, batch):
        """The ``(feats, lens)`` blocks a training batch feeds forward, in order, and extra outputs.

        The source half, then the target half where the method uses it; a
        subclass may append rows (BA3US's augmented target half) and name
        them in the dict, which joins ``compute_forward``'s output.

        Example
        -------
        >>> from amls_speech.brains import DANN, SourceOnly
        >>> from amls_speech.brains.testing import tiny_brain
        >>> brain, batch = tiny_brain(DANN)
        >>> rows, extra = brain.training_rows(batch)
        >>> [x.shape[0] for x, _ in rows], extra
        ([4, 4], {})
        >>> brain, batch = tiny_brain(SourceOnly)  # the target half is not fed forward
        >>> [x.shape[0] for x, _ in brain.training_rows(batch)[0]]
        [4]
        """
        rows = [tuple(batch.source.feats)]
        if self.trains_on_target:
            rows.append(tuple(batch.target.feats))
        return rows, {}

    def train_losses(self, out, batch):
        """Named loss terms of one training batch; their sum is minimised."""
        raise NotImplementedError

    def source_ce(self, out, batch, weights=None):
        """L_cls: cross-entropy on the source half; ``weights`` (optional, per sample) scale each term."""
        ce = F.cross_entropy(out["logits"][: out["n_source"]], labels(batch.source),
                             reduction="mean" if weights is None else "none")
        return ce if weights is None else (weights.detach() * ce).mean()

    def check_finite(self, terms):
        """Stops at the first NaN or infinite loss term, naming it; no step is taken with it.

        Nothing is saved after the error, so the run's last checkpoint is the
        last good state and the same command resumes from it.
        """
        for name, value in terms.items():
            if not torch.isfinite(value.detach()).all():
                folder = getattr(self.checkpointer, "checkpoints_dir", None)
                raise NonFiniteLossError(
                    "loss term %r is %s at epoch %d, step %d: no step was taken with it and the last "
                    "good checkpoint (in %s) is kept. Lower the learning rate or the adversarial "
                    "weight, or check the input features, then run the same command to resume"
                    % (name, float(value.detach().float().sum()), self.epoch, self.step, folder))

    def record_terms(self, terms):
        """Adds a batch's loss terms to the epoch totals that the train log shows."""
        for name, value in terms.items():
            self.loss_terms[name] = self.loss_terms.get(name, 0.0) + float(value.detach())

    def compute_objectives(self, out, batch, stage):
        """TRAIN: the sum of :meth:`train_losses`; VALID: the source cross-entropy; TEST: 0.

        The training terms are checked (:meth:`check_finite`) and recorded;
        validation counts the correct answers (and keeps the domain outputs
        for ``source_domain``); test records the predictions of :meth:`predict`.
        """
        if stage == sb.Stage.TRAIN:
            terms = self.train_losses(out, batch)
            self.check_finite(terms)
            self.record_terms(terms)
            return sum(terms.values())
        if stage == sb.Stage.VALID:
            logits = out["logits"]
            self.valid_correct += int((logits.argmax(-1) == labels(batch)).sum())
            self.valid_total += logits.shape[0]
            if self.tracks_domain_confusion:
                self.valid_domain.append(torch.sigmoid(self.modules.discriminator(out["z"])).detach().cpu())
            return F.cross_entropy(logits, labels(batch))
        preds, scores = self.predict(out)
        self.test_stats.append(batch.id, preds, labels(batch))
        self.test_records.append((scores, out["logits"].argmax(-1).cpu(), labels(batch).cpu(),
                                  self.diagnostic_signals(out)))
        return torch.zeros(())

    # --------------------------------------------------------------- inference
    def rejection_scores(self, out):
        """Per-sample "shared-ness" of target samples; None for closed-set methods."""
        return None

    def diagnostic_signals(self, out):
        """Every rejection signal of :mod:`amls_speech.diagnostics` this method's networks give."""
        aux = getattr(self.modules, "aux_discriminator", None)
        d_source = torch.sigmoid(aux(out["z"])) if aux is not None else None
        return rejection_signals(out["logits"].softmax(-1), d_source)

    def predict(self, out):
        """Predicted indices (``len(classes)`` = unknown) and rejection scores."""
        preds = out["logits"].argmax(-1)
        scores = self.rejection_scores(out)
        if scores is None:
            return preds, None
        scores = scores.detach()
        unknown = len(self.hparams.classes)
        preds = torch.where(scores < self.threshold, torch.full_like(preds, unknown), preds)
        return preds, scores.cpu()

    @torch.no_grad()
    def collect(self, dataset, loader_kwargs, fn, stage=sb.Stage.TEST):
        """``fn(forward output)`` over ``dataset`` in its order, concatenated (no label is read).

        ``stage`` picks the domain's path through the networks: TEST for
        target data, VALID for source data (ADDA has one encoder per domain).
        """
        self.modules.eval()
        # Brain.evaluate adds ckpt_prefix to the loader options it is given, in place
        loader_kwargs = {k: v for k, v in loader_kwargs.items() if k != "ckpt_prefix"}
        loader = self.make_dataloader(dataset, sb.Stage.TEST, ckpt_prefix=None, **loader_kwargs)
        return torch.cat([fn(self.compute_forward(batch, stage)).cpu() for batch in loader]).numpy()

    def collect_scores(self, dataset, loader_kwargs):
        """Rejection scores over an unlabelled dataset."""
        return self.collect(dataset, loader_kwargs, self.rejection_scores)

    @property
    def tracks_domain_confusion(self):
        """Whether validation collects the domain classifier's outputs (a ``source_domain`` rule is used)."""
        return "source_domain" in self.selection_rules()

    def source_domain_selection_score(self, source_accuracy):
        """:func:`~amls_speech.selection.source_domain_score` of this epoch.

        The domain classifier's error is measured on the source validation
        set (held out) and the unlabelled target adaptation set.
        """
        if self.unlabelled_target is None:
            raise ValueError("checkpoint selection 'source_domain' needs the unlabelled target set: "
                             "train with a PairedDataset (amls_speech.recipe.run does)")
        with torch.random.fork_rng(devices=[]):  # leaves the training trajectory unchanged
            d_target = self.collect(self.unlabelled_target, self.eval_loader_kwargs,
                                    lambda out: torch.sigmoid(self.modules.discriminator(out["z"])))
        confusion = domain_confusion(torch.cat(self.valid_domain).float().numpy(), d_target)
        return source_domain_score(source_accuracy, confusion), confusion

    def target_probabilities(self):
        """The classifier's softmax over the unlabelled adaptation set, for the label-free rules."""
        if self.unlabelled_target is None:
            raise ValueError("checkpoint selection target_infomax or target_entropy needs the unlabelled "
                             "target set: train with a PairedDataset (amls_speech.recipe.run does)")
        # a new DataLoader draws from the CPU generator: fork it, so that
        # selecting by this rule leaves the training trajectory unchanged
        with torch.random.fork_rng(devices=[]):
            return self.collect(self.unlabelled_target, self.eval_loader_kwargs,
                                lambda out: out["logits"].softmax(-1))
    def calibrate(self, adapt_set, loader_kwargs):
        """Sets the rejection threshold from the unlabelled adaptation set."""
        self.threshold = float("-inf")
        if self.open_set:
            scores = self.collect_scores(adapt_set, loader_kwargs)
            self.calibration_scores = scores  # kept for the calibration ablations of the run
            self.threshold = choose_threshold(
                self.hparams.threshold_rule, scores, getattr(self.hparams, "threshold", None)
            )
            logger.info("rejection threshold (%s): %.4f", self.hparams.threshold_rule, self.threshold)

    def test(self, test_set, adapt_set, loader_kwargs, rule=None):
        """Selects the checkpoint, calibrates on ``adapt_set``, scores ``test_set``.

        ``rule`` (default: the hparams' ``checkpoint_selection``) picks the
        checkpoint. Returns the :class:`~amls_speech.metrics.OpenSetStats`
        summary plus the threshold and the selection rules used.
        """
        rule = self.recover_selected(rule)
        self.calibrate(adapt_set, loader_kwargs)
        self._recovered = True  # evaluate() must not load another checkpoint
        self.evaluate(test_set, progressbar=False, test_loader_kwargs=loader_kwargs)
        summary = dict(self.test_summary)
        summary.update(
            threshold=self.threshold if self.open_set else None,
            checkpoint_selection=rule,
            selected_epoch=self.hparams.epoch_counter.current,  # of the recovered checkpoint
            threshold_rule=self.hparams.threshold_rule if self.open_set else "none (closed set)",
        )
        return summary

    def recover_selected(self, rule=None):
        """Loads the checkpoint that ``rule`` (default: ``checkpoint_selection``) picks.

        Returns the rule, also kept as ``test_rule`` (the test log names it).
        Under DDP every process sees the same checkpoints: each save ends at a
        barrier once the main process has written them whole
        (:class:`~amls_speech.checkpoints.AtomicCheckpointer`).
        """
        if self.checkpointer is None or self.checkpointer.find_checkpoint() is None:
            raise FileNotFoundError("no checkpoint in %s: train this recipe first"
                                    % getattr(self.checkpointer, "checkpoints_dir", None))
        rule = self.test_rule = rule or self.hparams.checkpoint_selection
        self.checkpointer.recover_if_possible(max_key=SELECTION_KEYS[rule])
        return rule

    def on_evaluate_start(self, max_key=None, min_key=None):
        """Loads a checkpoint as SpeechBrain does, unless :meth:`test` has recovered one already."""
        if not getattr(self, "_recovered", False):  # test() has recovered already
            super().on_evaluate_start(max_key=max_key, min_key=min_key)
        self._recovered = False

    # ------------------------------------------------------------------ stages
    def on_stage_start(self, stage, epoch=None):
        """Resets the stage's running sums; may resume a checkpoint's state or start the test statistics.

        A training stage at step 0 puts back the state of an end-of-epoch
        checkpoint; a test stage starts the open-set statistics.
        """
        self.loss_terms = {}
        self.valid_correct, self.valid_total, self.valid_domain = 0, 0, []
        state = getattr(self, "training_state", None)
        if stage == sb.Stage.TRAIN and self.step == 0 and state is not None:
            state.apply()  # resumed from an end-of-epoch checkpoint
        if stage == sb.Stage.TEST:
            self.test_stats = OpenSetStats(self.hparams.classes, self.hparams.shared_classes)
            self.test_records = []

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs the stage: loss terms (TRAIN), selection scores and a checkpoint (VALID), the summary (TEST).

        TRAIN: the loss terms' means per step. VALID: source accuracy and the
        label-free scores of the selection rules, logged, then a checkpoint
        kept as the latest and as each rule's best. TEST: the open-set
        summary (``test_summary``).
        """
        if stage == sb.Stage.TRAIN:
            steps = max(1, self.progress.steps_per_epoch)
            self.train_stats = {"loss": stage_loss}
            self.train_stats.update({k: v / steps for k, v in self.loss_terms.items()})
        elif stage == sb.Stage.VALID:
            stats = {"loss": stage_loss, "source_acc": self.valid_correct / max(1, self.valid_total)}
            counter = self.hparams.epoch_counter
            if hasattr(counter, "update_metric"):  # EpochCounterWithStopper: stop on a plateau
                counter.update_metric(stats["source_acc"])
            keys = [SELECTION_KEYS[r] for r in self.selection_rules() if SELECTION_KEYS[r]]
            if {"target_im", "target_certainty"} & set(keys):  # one pass over the adaptation set per epoch
                probs = self.target_probabilities()
                if "target_im" in keys:
                    stats["target_im"] = information_maximization(probs)
                if "target_certainty" in keys:
                    stats["target_certainty"] = target_certainty(probs)
            if "source_domain" in keys:  # so does this
                stats["source_domain"], stats["domain_confusion"] = \
                    self.source_domain_selection_score(stats["source_acc"])
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch": epoch},
                train_stats=self.train_stats,
                valid_stats=stats,
            )
            # keeps the latest checkpoint (to resume) and the best one for each rule
            self.checkpointer.save_and_keep_only(
                meta={k: v for k, v in stats.items() if k != "loss"},
                max_keys=keys, num_to_keep=1,
            )
        else:
            self.test_summary = self.test_stats.summarize()
            self.hparams.train_logger.log_stats(
                stats_meta={"target test, selection": getattr(self, "test_rule",
                                                              self.hparams.checkpoint_selection)},
                test_stats={k: round(self.test_summary[k], 4) for k in
                            ("score", "h_score", "accuracy", "shared_accuracy", "unknown_accuracy")
                            if not np.isnan(self.test_summary[k])},
            )
