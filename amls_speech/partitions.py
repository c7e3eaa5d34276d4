"""Label-space partitions: which classes are shared, source-private, target-private.

Classes are numbered 1.. in alphabetical order of their names (the AMLS paper,
section 4). A partition names the source-private and shared classes by number;
every other class is target-private.
"""

SHARED = "shared"
SOURCE_PRIVATE = "source_private"
TARGET_PRIVATE = "target_private"

# The 35 words of Google Speech Commands v0.02, in alphabetical order.
SPEECH_COMMANDS_WORDS = (
    "backward bed bird cat dog down eight five follow forward four go happy "
    "house learn left marvin nine no off on one right seven sheila six stop "
    "three tree two up visual wow yes zero"
).split()

# The 31 Mic2Mic keyword classes used by the embedded stand-in: the Speech
# Commands words less the four that v0.02 added and Mic2Mic never recorded.
MIC2MIC_WORDS = [
    w for w in SPEECH_COMMANDS_WORDS if w not in ("backward", "follow", "forward", "visual")
]

EMOTION_CLASSES = ("Angry", "Calm", "Disgust", "Fear", "Happy", "Sad", "Surprise")


class LabelPartition:
    """Splits an alphabetically numbered class list into the three label sets.

    Arguments
    ---------
    classes : list of str
        Every class name of the task (source and target); numbered 1.. after
        sorting alphabetically.
    source_private : list of int or str
        Class numbers (1-based) or names only the source domain has.
    shared : list of int or str
        Class numbers or names both domains have. The rest are target-private.
    allow_disjoint : bool
        Accept an empty ``shared`` (heterogeneous adaptation: the two label
        sets have nothing in common); an error otherwise, as a typo guard.

    Example
    -------
    >>> p = LabelPartition(["c", "a", "b", "d"], source_private=[1], shared=["b"])
    >>> p.classes
    ['a', 'b', 'c', 'd']
    >>> p.label_set("a"), p.label_set("b"), p.label_set("d")
    ('source_private', 'shared', 'target_private')
    >>> p.source_classes, p.target_classes
    (['a', 'b'], ['b', 'c', 'd'])
    >>> p.number("c")
    3
    """

    def __init__(self, classes, source_private, shared, allow_disjoint=False):
        self.classes = sorted(set(classes))
        if len(self.classes) != len(classes):
            raise ValueError("class list has duplicates: %s" % sorted(classes))
        src = {self._name(c) for c in source_private}
        shr = {self._name(c) for c in shared}
        both = src & shr
        if both:
            raise ValueError(
                "class(es) %s are both source-private and shared; a class belongs "
                "to exactly one label set: fix the partition" % sorted(both)
            )
        self._set = {c: TARGET_PRIVATE for c in self.classes}
        self._set.update({c: SOURCE_PRIVATE for c in src})
        self._set.update({c: SHARED for c in shr})
        if not shr and not allow_disjoint:
            raise ValueError("the partition has no shared class (pass allow_disjoint=True for "
                             "heterogeneous adaptation)")

    def _name(self, c):
        if isinstance(c, int):
            if not 1 <= c <= len(self.classes):
                raise ValueError(
                    "class number %d is out of range 1..%d" % (c, len(self.classes))
                )
            return self.classes[c - 1]
        if c not in self.classes:
            raise ValueError("unknown class %r; known: %s" % (c, self.classes))
        return c

    def number(self, name):
        """1-based alphabetical number of a class."""
        return self.classes.index(name) + 1

    def label_set(self, name):
        """``shared``, ``source_private`` or ``target_private``."""
        return self._set[self._name(name)]

    def classes_in(self, *label_sets):
        """Class names, alphabetical, whose label set is one of ``label_sets``."""
        return [c for c in self.classes if self._set[c] in label_sets]

    @property
    def shared(self):
        """The shared classes, alphabetical."""
        return self.classes_in(SHARED)

    @property
    def source_classes(self):
        """The classes of the source domain (shared and source-private), alphabetical."""
        return self.classes_in(SHARED, SOURCE_PRIVATE)

    @property
    def target_classes(self):
        """The classes of the target domain (shared and target-private), alphabetical."""
        return self.classes_in(SHARED, TARGET_PRIVATE)

    def to_dict(self):
        """Class name -> its label set, for every class in alphabetical order."""
        return {c: self._set[c] for c in self.classes}


def gender_partition(n_shared=10, words=SPEECH_COMMANDS_WORDS):
    """The AMLS paper's Speech Commands partition (gender tasks).

    ``n_shared`` < 10 keeps the first ``n_shared`` shared classes in the
    paper's order and makes the others target-private: the |C_shared| sweep
    of the paper's Figure 3 (right).

    Example
    -------
    >>> p = gender_partition()
    >>> len(p.source_classes), len(p.shared), len(p.target_classes)
    (20, 10, 25)
    >>> p.shared[:3]
    ['cat', 'dog', 'follow']
    >>> q = gender_partition(n_shared=2)
    >>> q.shared, len(q.source_classes), len(q.target_classes)
    (['cat', 'dog'], 12, 25)
    """
    shared = [4, 5, 9, 11, 12, 15, 17, 24, 27, 28]
    if not 1 <= n_shared <= len(shared):
        raise ValueError("n_shared must be in 1..%d, got %r" % (len(shared), n_shared))
    return LabelPartition(
        words,
        source_private=[33, 3, 7, 8, 10, 14, 20, 21, 23, 26],
        shared=shared[:n_shared],
    )


def microphone_partition(words=MIC2MIC_WORDS):
    """The AMLS paper's Mic2Mic partition (31 classes).

    Example
    -------
    >>> p = microphone_partition()
    >>> len(p.classes), len(p.shared), len(p.classes_in(TARGET_PRIVATE))
    (31, 10, 11)
    """
    return LabelPartition(
        words,
        source_private=[1, 3, 5, 9, 10, 11, 12, 22, 25, 28],
        shared=[6, 8, 14, 16, 21, 23, 24, 27, 29, 30],
    )


def emotion_partition():
    """The AMLS paper's CREMA-D -> RAVDESS partition (7 classes).

    Example
    -------
    >>> p = emotion_partition()
    >>> p.shared, p.classes_in(SOURCE_PRIVATE), p.classes_in(TARGET_PRIVATE)
    (['Angry', 'Calm', 'Fear'], ['Happy', 'Sad'], ['Disgust', 'Surprise'])
    """
    return LabelPartition(
        EMOTION_CLASSES,
        source_private=["Happy", "Sad"],
        shared=["Calm", "Angry", "Fear"],
    )


DIGITS = tuple("0123456789")
DIGIT_LABEL_SPACES = ("closed", "mismatched", "disjoint", "partial")


def digit_partition(label_space="closed"):
    """Partitions of the digit tasks (vision recipes).

    ``closed``: both domains have all ten digits (the DANN paper's Table 1).
    ``mismatched``: source digits 0-6, target digits 3-9, so 3-6 are shared,
    0-2 source-private and 7-9 target-private: the speech tasks' setting on
    images, for all five methods. ``disjoint``: source digits 0-4, target
    digits 5-9, nothing shared: the CKM paper's heterogeneous adaptation.
    ``partial``: source digits 0-9, target digits 0-4 (partial domain
    adaptation, the ISRA paper's setting: 5-9 are source-private outliers).

    Example
    -------
    >>> p = digit_partition()
    >>> len(p.shared), p.classes_in(TARGET_PRIVATE)
    (10, [])
    >>> q = digit_partition("mismatched")
    >>> q.source_classes, q.shared, q.classes_in(TARGET_PRIVATE)
    (['0', '1', '2', '3', '4', '5', '6'], ['3', '4', '5', '6'], ['7', '8', '9'])
    >>> h = digit_partition("disjoint")
    >>> h.source_classes, h.shared, h.target_classes
    (['0', '1', '2', '3', '4'], [], ['5', '6', '7', '8', '9'])
    >>> r = digit_partition("partial")
    >>> len(r.source_classes), r.target_classes == r.shared == list("01234")
    (10, True)
    """
    if label_space not in DIGIT_LABEL_SPACES:
        raise ValueError("label_space must be one of %s, got %r" % (DIGIT_LABEL_SPACES, label_space))
    if label_space == "closed":
        return LabelPartition(DIGITS, source_private=[], shared=list(DIGITS))
    if label_space == "disjoint":
        return LabelPartition(DIGITS, source_private=list("01234"), shared=[], allow_disjoint=True)
    if label_space == "partial":
        return LabelPartition(DIGITS, source_private=list("56789"), shared=list("01234"))
    return LabelPartition(DIGITS, source_private=["0", "1", "2"], shared=["3", "4", "5", "6"])
