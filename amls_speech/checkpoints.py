"""A SpeechBrain ``Checkpointer`` whose checkpoints are complete or absent.

SpeechBrain writes a checkpoint's ``CKPT.yaml`` first and its parameter
files after it, and a folder with a ``CKPT.yaml`` counts as a checkpoint: a
run killed while saving leaves one that the next start tries to load, and
fails on (a missing or truncated file). Here ``CKPT.yaml`` is written last,
atomically, once every file is on disk; a folder an interrupted save left
without it is ignored when loading and removed at the next save.

Under DDP only the main process writes, and ``CKPT.yaml`` comes after the
last collective of SpeechBrain's save, so every process waits at a barrier
until it is on disk: a process that lists the folder earlier sees one
checkpoint fewer, and ``save_and_keep_only`` then deletes a different number
of checkpoints on each process, whose per-deletion broadcasts no longer pair
up (seen: a 2-process CKM run hung at its last epoch, and earlier one tested
an older checkpoint).
"""

import logging
import shutil
import time

import yaml
from speechbrain.utils.checkpoints import CKPT_PREFIX, METAFNAME, Checkpointer
from speechbrain.utils.distributed import ddp_barrier, if_main_process

from amls_speech.atomic import write_text_atomic

logger = logging.getLogger(__name__)


class AtomicCheckpointer(Checkpointer):
    """``speechbrain.utils.checkpoints.Checkpointer`` that marks a checkpoint valid only once it is whole.

    Takes the same arguments as SpeechBrain's ``Checkpointer``.

    Example
    -------
    >>> import tempfile, torch
    >>> layer = torch.nn.Linear(2, 2)
    >>> ckpt = AtomicCheckpointer(tempfile.mkdtemp(), recoverables={"layer": layer})
    >>> _ = ckpt.save_checkpoint(meta={"acc": 0.5})
    >>> class Broken:
    ...     pass
    >>> ckpt.add_recoverable("broken", Broken())  # SpeechBrain cannot save this one
    >>> try:
    ...     ckpt.save_checkpoint(meta={"acc": 0.9})
    ... except RuntimeError:
    ...     pass
    >>> [c.meta["acc"] for c in ckpt.list_checkpoints()]  # the half-written one is not a checkpoint
    [0.5]
    """

    def save_checkpoint(self, meta={}, end_of_epoch=True, name=None, verbosity=logging.INFO):
        """SpeechBrain's save with ``CKPT.yaml`` written last, atomically, then a barrier.

        The main process first removes what interrupted saves left
        (:meth:`remove_incomplete`).
        """
        if if_main_process():
            self.remove_incomplete()
        self._pending_meta = None
        checkpoint = super().save_checkpoint(meta=meta, end_of_epoch=end_of_epoch, name=name,
                                             verbosity=verbosity)
        if self._pending_meta is not None:  # every parameter file is written: now it counts
            path, text = self._pending_meta
            write_text_atomic(path, text)
            self._pending_meta = None
        ddp_barrier()  # no process lists the folder before CKPT.yaml is there (module docstring)
        return checkpoint

    def _save_checkpoint_metafile(self, fpath, meta_to_include={}, end_of_epoch=True):
        meta = {"unixtime": time.time(), "end-of-epoch": end_of_epoch}
        meta.update(meta_to_include)
        self._pending_meta = (fpath, "# yamllint disable\n" + yaml.dump(meta))
        return meta

    def remove_incomplete(self):
        """Deletes checkpoint folders that an interrupted save left without ``CKPT.yaml``."""
        if not self.checkpoints_dir.is_dir():
            return
        for folder in self.checkpoints_dir.iterdir():
            if folder.is_dir() and folder.name.startswith(CKPT_PREFIX) and not (folder / METAFNAME).exists():
                logger.warning("removing %s: an interrupted save left it incomplete", folder)
                shutil.rmtree(folder)
