"""amls-speech: domain adaptation of speech classifiers under mismatched label spaces.

The subpackages follow SpeechBrain's split: ``nnet`` holds the networks,
``brains`` the training procedures (one ``speechbrain.core.Brain`` per method),
``features`` and ``data`` the input pipeline, ``metrics`` the paper's scores.
"""

__version__ = "0.1.0"
