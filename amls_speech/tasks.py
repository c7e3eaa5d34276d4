"""The paper's adaptation tasks: short name -> (source domain, target domain)."""

from amls_speech import partitions

TASKS = {
    "M2F": ("male", "female"),
    "F2M": ("female", "male"),
    "M2R": ("M", "R"),
    "U2M": ("U", "M"),
    "C2R": ("crema_d", "ravdess"),
}


def source_domain(task):
    """Source domain of a task name.

    Example
    -------
    >>> source_domain("F2M")
    'female'
    """
    return _lookup(task)[0]


def target_domain(task):
    """Target domain of a task name.

    Example
    -------
    >>> target_domain("M2R")
    'R'
    """
    return _lookup(task)[1]


def _lookup(task):
    if task not in TASKS:
        raise ValueError("unknown task %r; known tasks: %s" % (task, ", ".join(TASKS)))
    return TASKS[task]


def task_partition(task, n_shared=None):
    """The label partition of a task (``n_shared``: the gender tasks' |C_shared| sweep).

    Example
    -------
    >>> [len(task_partition(t).shared) for t in ("M2F", "U2M", "C2R")]
    [10, 10, 3]
    >>> len(task_partition("F2M", n_shared=4).shared)
    4
    """
    source = source_domain(task)
    if source in ("male", "female"):
        return partitions.gender_partition(n_shared or 10)
    if source in ("crema_d",):
        return partitions.emotion_partition()
    return partitions.microphone_partition()
