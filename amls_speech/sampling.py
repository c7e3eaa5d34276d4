"""Which source and which target example share a training step.

An epoch has ``max(len(source), len(target))`` pairs. Each domain is read in
fresh seeded permutations: when the smaller domain runs out within an epoch
it starts a new permutation, so every example is seen as often as any other
(the older ``source[i % len(source)]`` rule showed the first examples of a
manifest, sorted by ID and so by word, twice per epoch). The permutations
depend on ``(seed, epoch)`` only, so a run is repeatable and a resumed epoch
draws the same pairs.

``balance="class"`` draws the source side class-balanced instead, as the
official UAN code does: every position picks a class in a shuffled round
robin, then the next example of that class (each class cycling through its
own permutation).
"""

import torch


def _permutations(n, length, gen):
    """``length`` indices: consecutive fresh permutations of ``range(n)``."""
    out = []
    while len(out) < length:
        out += torch.randperm(n, generator=gen).tolist()
    return out[:length]


def class_balanced(labels, length, gen):
    """``length`` indices into ``labels`` with every class drawn equally often (+-1).

    Example
    -------
    >>> gen = torch.Generator().manual_seed(0)
    >>> idx = class_balanced(["a", "a", "a", "a", "b"], 6, gen)
    >>> sorted(["aaaab"[i] for i in idx])
    ['a', 'a', 'a', 'b', 'b', 'b']
    """
    by_class = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    classes = sorted(by_class)
    order = [classes[c] for c in _permutations(len(classes), length, gen)]
    queues = {c: [] for c in classes}
    out = []
    for c in order:
        if not queues[c]:
            members = by_class[c]
            queues[c] = [members[j] for j in torch.randperm(len(members), generator=gen).tolist()]
        out.append(queues[c].pop())
    return out


class PairedSampler(torch.utils.data.Sampler):
    """Yields ``(source_index, target_index)`` pairs; reshuffled every epoch.

    SpeechBrain's ``Brain`` calls ``set_epoch`` at the start of every epoch
    (directly, or through ``DistributedSamplerWrapper`` under DDP, which then
    gives each process its own shard of the pairs).

    Arguments
    ---------
    n_source, n_target : int
        Sizes of the two datasets.
    seed : int
        Base seed; epoch ``e`` uses ``seed * 100003 + e``.
    balance : str
        ``"none"`` (each source example once per pass) or ``"class"``
        (class-balanced source draws; needs ``source_labels``).
    source_labels : list or None
        Class of every source example, for ``balance="class"``.

    Example
    -------
    >>> s = PairedSampler(3, 5, seed=0)
    >>> s.set_epoch(1)
    >>> pairs = list(s)
    >>> len(pairs), sorted(t for _, t in pairs)
    (5, [0, 1, 2, 3, 4])
    >>> counts = [sum(1 for src, _ in pairs if src == i) for i in range(3)]
    >>> sorted(counts)  # no source example seen twice before every one is seen once
    [1, 2, 2]
    >>> s.set_epoch(2)
    >>> list(s) != pairs
    True
    """

    def __init__(self, n_source, n_target, seed=0, balance="none", source_labels=None):
        if balance not in ("none", "class"):
            raise ValueError("sampler balance must be 'none' or 'class', got %r" % balance)
        if balance == "class" and (source_labels is None or len(source_labels) != n_source):
            raise ValueError("balance='class' needs one source label per source example")
        self.n_source, self.n_target, self.seed = n_source, n_target, seed
        self.balance, self.source_labels = balance, source_labels
        self.epoch = 0

    def set_epoch(self, epoch):
        """Picks the epoch whose pairs the next iteration yields."""
        self.epoch = epoch

    def __len__(self):
        return max(self.n_source, self.n_target)

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        n = len(self)
        if self.balance == "class":
            source = class_balanced(self.source_labels, n, gen)
        else:
            source = _permutations(self.n_source, n, gen)
        target = _permutations(self.n_target, n, gen)
        return iter(list(zip(source, target)))
