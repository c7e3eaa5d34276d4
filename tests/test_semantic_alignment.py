"""PADA's class weights and ISRA's losses, attention and masks against values worked out by hand."""

import pytest
import torch

from amls_speech import semantic_alignment as S
from amls_speech.nnet.semantic import Class2Vec, TopicReceptors


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
    assert S.receptor_attention(g, x)[0].tolist() == [[2.0, 1.0], [2.0, 1.0]]
    # the code's reading: d/dx (g(x) - t)^2 = 2 (g(x) - t) w; targets 0: rows scaled by 2, 6
    loss = S.receptor_attention(g, x, gradient_of="loss", targets=torch.zeros(2, 1))
    assert loss[0].tolist() == [[4.0, 2.0], [12.0, 6.0]]
    # nothing flows back into the receptor or the features
    assert g.weight.grad is None and not S.receptor_attention(g, x).requires_grad
    with pytest.raises(ValueError, match="needs the class2vec codes"):
        S.receptor_attention(g, x, gradient_of="loss")


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


def test_batched_receptor_attention_matches_one_backward_per_receptor():
    torch.manual_seed(0)
    g, x = TopicReceptors(5, n_topics=3, hidden=4), torch.rand(6, 5)
    a = S.receptor_attention(g, x)
    for j in range(3):  # row i of A_j is |d g_j(x_i) / d x_i|
        xj = x.clone().requires_grad_(True)
        g(xj)[:, j].sum().backward()
        assert torch.allclose(a[j], xj.grad.abs(), atol=1e-6)
    # by hand for one receptor: |sum_h w2_h 1[w1_h x + b1_h > 0] w1_h|
    h = (g.w1[1] @ x[0] + g.b1[1] > 0).float()
    assert torch.allclose(a[1, 0], ((g.w2[1] * h) @ g.w1[1]).abs().detach(), atol=1e-6)


def test_receptors_learn_from_detached_inputs_and_codes_only():
    torch.manual_seed(0)
    backbone, c2v, g = torch.nn.Linear(4, 6), Class2Vec(6, 2), TopicReceptors(6, 2, hidden=3)
    x = torch.relu(backbone(torch.rand(5, 4)))
    codes, x_hat = c2v(x)
    S.receptor_loss(g, x, codes).backward()
    assert backbone.weight.grad is None and all(p.grad is None for p in c2v.parameters())
    assert all(p.grad is not None for p in g.parameters())
    # L_c2v does reach the backbone (the paper minimises it over B, f and h)
    S.class2vec_loss(x, x_hat, n_source=2).backward()
    assert backbone.weight.grad is not None and backbone.weight.grad.abs().sum() > 0


def test_class2vec_loss_weighs_each_domain_by_its_own_count():
    x = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    # source rows: (1 + 9) / 2 = 5; target rows: (0 + 4) / 2 = 2
    assert S.class2vec_loss(x, torch.zeros_like(x), n_source=2).item() == pytest.approx(7.0)
    assert S.class2vec_loss(x, torch.zeros_like(x), n_source=1).item() == pytest.approx(1 + 13 / 3)
