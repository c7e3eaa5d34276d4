"""PADA's class weights and ISRA's attention, masks and alignment loss against values worked out by hand."""

import pytest
import torch

from amls_speech import semantic_alignment as S


def linear(weights):
    g = torch.nn.Linear(len(weights), 1, bias=False)
    with torch.no_grad():
        g.weight.copy_(torch.tensor([weights]))
    return g


def test_pada_weights_by_hand():
    probs = torch.tensor([[0.8, 0.2, 0.0], [0.4, 0.4, 0.2]])  # mean (0.6, 0.3, 0.1)
    assert S.pada_class_weights(probs).tolist() == pytest.approx([1.0, 0.5, 1 / 6])


def test_receptor_attention_output_and_loss_gradients():
    g = linear([2.0, -1.0])
    x = torch.tensor([[1.0, 1.0], [0.0, 3.0]])  # g(x) = 1, -3
    assert S.receptor_attention([g], x)[0].tolist() == [[2.0, 1.0], [2.0, 1.0]]
    # the code's reading: d/dx (g(x) - t)^2 = 2 (g(x) - t) w; targets 0: rows scaled by 2, 6
    loss = S.receptor_attention([g], x, gradient_of="loss", targets=torch.zeros(2, 1))
    assert loss[0].tolist() == [[4.0, 2.0], [12.0, 6.0]]
    # nothing flows back into the receptor or the features
    assert g.weight.grad is None and not S.receptor_attention([g], x).requires_grad
    with pytest.raises(ValueError, match="needs the class2vec codes"):
        S.receptor_attention([g], x, gradient_of="loss")


def test_masks_normalise_the_attention_and_pass_gradients_to_the_features_only():
    a = torch.tensor([[[1.0, 1.0], [1.0, 1.0]]])  # ||A|| = 2
    x = torch.tensor([[2.0, 4.0], [6.0, 8.0]], requires_grad=True)
    m = S.attention_masks(a, x)
    assert m[0].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert S.attention_masks(a, x, "batch")[0].tolist() == [[0.5, 1.0], [1.5, 2.0]]  # / (2 * 2 rows)
    m.sum().backward()
    assert x.grad.tolist() == [[0.5, 0.5], [0.5, 0.5]]


def test_alignment_loss_by_hand_and_its_gradient():
    # one topic; source column sums (3, 1), target (1, 1): L = (3 - 1)^2 = 4
    ms = torch.tensor([[[1.0, 0.0], [2.0, 1.0]]], requires_grad=True)
    mt = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    loss = S.response_alignment_loss(ms, mt)
    assert float(loss.detach()) == 4.0
    loss.backward()
    assert ms.grad[0].tolist() == [[4.0, 0.0], [4.0, 0.0]]  # 2 (3 - 1) on both rows of column 0
    assert float(S.response_alignment_loss(ms, ms.detach()).detach()) == 0.0
    with pytest.raises(ValueError, match="reduction"):
        S.response_alignment_loss(ms, mt, reduction="max")
