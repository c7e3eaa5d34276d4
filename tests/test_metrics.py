"""The paper's score, H-score and accuracy against cases worked out by hand."""

import math

import numpy as np
import pytest

from amls_speech.metrics import OpenSetStats, h_score, per_class_accuracy


def make_stats():
    # source classes a, b, c (c source-private); shared = a, b; unknown index 3
    return OpenSetStats(["a", "b", "c"], shared=["a", "b"])


def test_score_by_hand():
    stats = make_stats()
    # a: 3 samples, 2 right -> 2/3 ; b: 2 samples, 0 right (one predicted c,
    # one unknown) -> 0 ; unknown: 4 samples, 3 rejected -> 3/4
    truth = [0, 0, 0, 1, 1, 3, 3, 3, 3]
    preds = [0, 0, 1, 2, 3, 3, 3, 3, 0]
    stats.append(range(9), preds, truth)
    s = stats.summarize()
    assert s["shared_accuracy"] == pytest.approx((2 / 3 + 0) / 2)
    assert s["unknown_accuracy"] == pytest.approx(0.75)
    assert s["score"] == pytest.approx((2 / 3 + 0 + 0.75) / 3)
    assert s["accuracy"] == pytest.approx(5 / 9)
    hs = 2 * (1 / 3) * 0.75 / (1 / 3 + 0.75)
    assert s["h_score"] == pytest.approx(hs)
    assert s["per_class"] == pytest.approx({"a": 2 / 3, "b": 0.0, "unknown": 0.75})
    confusion = np.array(s["confusion"])
    assert confusion.shape == (4, 4)
    assert confusion[1, 2] == 1 and confusion[3, 0] == 1 and confusion.sum() == 9


def test_closed_set_method_gets_zero_on_unknown():
    stats = make_stats()
    stats.append(range(4), [0, 1, 0, 1], [0, 1, 3, 3])  # never answers unknown
    s = stats.summarize()
    assert s["unknown_accuracy"] == 0.0
    assert s["score"] == pytest.approx(2 / 3)  # (1 + 1 + 0) / 3
    assert s["h_score"] == 0.0


def test_no_private_target_samples_scores_shared_only():
    stats = make_stats()
    stats.append(range(2), [0, 0], [0, 1])
    s = stats.summarize()
    assert math.isnan(s["unknown_accuracy"]) and math.isnan(s["h_score"])
    assert s["score"] == pytest.approx(0.5)


def test_source_private_truth_is_not_in_the_score():
    stats = make_stats()
    stats.append(range(2), [0, 0], [0, 2])  # class c is source-private: not scored
    assert stats.summarize("score") == pytest.approx(1.0)


def test_helpers_and_errors():
    assert h_score(0.5, 0.5) == pytest.approx(0.5)
    acc = per_class_accuracy([[1, 1], [0, 2]])
    assert acc.tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match="no predictions"):
        make_stats().summarize()
    with pytest.raises(ValueError, match="not source classes"):
        OpenSetStats(["a"], shared=["z"])
