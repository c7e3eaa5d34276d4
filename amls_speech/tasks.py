"""The adaptation tasks: short name -> (source domain, target domain).

Speech: the AMLS paper's five tasks. Vision: the digit pairs of the DANN
paper's Table 1 on the embedded domains (``mnist``, ``mnistm``, ``syn``,
``uci``), with both domains holding all ten digits; the suffix ``-mls``
(mismatched label spaces) gives the same pair with source digits 0-6 and
target digits 3-9 (:func:`amls_speech.partitions.digit_partition`); the
suffix ``-het`` (heterogeneous, the CKM paper's setting) source digits 0-4 and
target digits 5-9, with no class in common; the suffix ``-pda`` (partial
domain adaptation, the ISRA paper's setting) source digits 0-9 and target
digits 0-4.
"""

from amls_speech import partitions

TASKS = {
    "M2F": ("male", "female"),
    "F2M": ("female", "male"),
    "M2R": ("M", "R"),
    "U2M": ("U", "M"),
    "C2R": ("crema_d", "ravdess"),
    "MN2MM": ("mnist", "mnistm"),
    "SY2MN": ("syn", "mnist"),
    "MN2UC": ("mnist", "uci"),
}
DIGIT_DOMAINS = ("mnist", "mnistm", "syn", "uci")
MISMATCHED_SUFFIX = "-mls"
TASKS.update({t + MISMATCHED_SUFFIX: TASKS[t] for t in ("MN2MM", "SY2MN", "MN2UC")})
DISJOINT_SUFFIX = "-het"
PARTIAL_SUFFIX = "-pda"
TASKS.update({t + PARTIAL_SUFFIX: TASKS[t] for t in ("MN2MM", "SY2MN", "MN2UC")})
TASKS.update({"MM2MN" + DISJOINT_SUFFIX: ("mnistm", "mnist"), "SY2MN" + DISJOINT_SUFFIX: ("syn", "mnist")})


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


def label_space(task):
    """``closed``, ``mismatched``, ``disjoint`` or ``partial``: the label space of a digit task.

    Example
    -------
    >>> label_space("MN2MM"), label_space("SY2MN-mls"), label_space("MM2MN-het"), label_space("MN2MM-pda")
    ('closed', 'mismatched', 'disjoint', 'partial')
    """
    _lookup(task)
    if task.endswith(DISJOINT_SUFFIX):
        return "disjoint"
    if task.endswith(PARTIAL_SUFFIX):
        return "partial"
    return "mismatched" if task.endswith(MISMATCHED_SUFFIX) else "closed"


def is_partial(task):
    """True for the partial tasks (``-pda``: the target classes a subset of the source ones).

    Example
    -------
    >>> is_partial("MN2MM-pda"), is_partial("MN2MM"), is_partial("no such task")
    (True, False, False)
    """
    return task in TASKS and label_space(task) == "partial"


def is_vision(task):
    """True for the digit tasks.

    Example
    -------
    >>> is_vision("MN2UC"), is_vision("M2F")
    (True, False)
    """
    return source_domain(task) in DIGIT_DOMAINS


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
    >>> len(task_partition("MN2MM").shared), len(task_partition("MN2MM-mls").shared)
    (10, 4)
    """
    source = source_domain(task)
    if is_vision(task):
        return partitions.digit_partition(label_space(task))
    if source in ("male", "female"):
        return partitions.gender_partition(n_shared or 10)
    if source in ("crema_d",):
        return partitions.emotion_partition()
    return partitions.microphone_partition()


def n_source_classes(task):
    """Outputs of a task's source classifier (the hparams' ``n_classes``).

    Example
    -------
    >>> n_source_classes("M2F"), n_source_classes("MN2UC"), n_source_classes("MN2UC-mls")
    (20, 10, 7)
    """
    return len(task_partition(task).source_classes)
