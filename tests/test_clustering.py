"""Concrete k-means, DEC, DCN, k-means++ and the Hungarian score against values worked out by hand."""

import math

import pytest
import torch

from amls_speech import clustering as C


def test_ckm_loss_gradients_reach_embeddings_and_centroids():
    z = torch.tensor([[0.0], [2.0]], requires_grad=True)
    mu = torch.tensor([[0.0], [3.0]], requires_grad=True)
    # tau small: the soft sample is one-hot to float precision, so the straight-through
    # term adds nothing and the gradients are those of sum_i (z_i - mu_k(i))^2
    loss = C.concrete_kmeans_loss(z, mu, temperature=0.01, noise=torch.zeros(2, 2))
    loss.backward()
    assert float(loss.detach()) == pytest.approx(1.0)  # (2 - 3)^2
    assert mu.grad.squeeze(1).tolist() == pytest.approx([0.0, 2.0])  # -2 (z_1 - mu_1) = 2
    assert z.grad.squeeze(1).tolist() == pytest.approx([0.0, -2.0])  # 2 (z_1 - mu_1) = -2
    mean = C.concrete_kmeans_loss(z, mu, temperature=0.01, noise=torch.zeros(2, 2), reduction="mean")
    assert float(mean.detach()) == pytest.approx(0.5)


def test_gumbel_assignment_samples_the_softmax_of_negative_distances():
    # Gumbel-max: P(h = e_j) = softmax(-d^2)_j = (1, e^-1) / (1 + e^-1) for d^2 = (0, 1)
    z = torch.zeros(20000, 1)
    mu = torch.tensor([[0.0], [1.0]])
    h = C.concrete_assignment(z, mu, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(h.sum(-1), torch.ones(20000))  # one-hot rows
    assert float(h[:, 1].mean()) == pytest.approx(math.exp(-1) / (1 + math.exp(-1)), abs=0.01)


def test_assignment_rejects_a_zero_temperature():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        C.concrete_assignment(torch.zeros(1, 1), torch.zeros(2, 1), temperature=0)


def test_assignment_scale_decides_which_centroid_a_noisy_sample_picks():
    # z = (2, 0), centroids (0, 0) and (3, 0): squared distances 4 and 1; the
    # noise (4, 0) favours the far one at beta = 1 (-4 + 4 > -1), not at
    # beta = 3 (-12 + 4 < -3); the loss is the squared distance to the pick
    z, mu, noise = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 0.0]]), torch.tensor([[4.0, 0.0]])
    assert C.concrete_kmeans_loss(z, mu, noise=noise).item() == pytest.approx(4.0)
    assert C.concrete_kmeans_loss(z, mu, noise=noise, scale=3.0).item() == pytest.approx(1.0)
    # the temperature never changes the pick
    assert C.concrete_kmeans_loss(z, mu, temperature=0.01, noise=noise).item() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="scale"):
        C.concrete_assignment(z, mu, scale=0.0)


def test_kmeans_plus_plus_never_picks_a_point_twice_when_others_are_far():
    # after a first pick at 0 the D^2 weights are (0, 0, 0, 9): the second pick is 3;
    # after a first pick at 3 they are (9, 9, 9, 0): a 0. Either way one of each.
    z = torch.tensor([[0.0], [0.0], [0.0], [3.0]])
    for seed in range(20):
        mu = C.kmeans_plus_plus(z, 2, torch.Generator().manual_seed(seed))
        assert sorted(mu.squeeze(1).tolist()) == [0.0, 3.0]
    with pytest.raises(ValueError, match="1 <= k <= 4"):
        C.kmeans_plus_plus(z, 5)


def test_hungarian_accuracy_by_hand():
    # contingency (clusters 0, 1, 2 x labels 5, 6): [[1, 3], [2, 0], [0, 1]]
    # best matching: 0 -> 6 (3), 1 -> 5 (2); cluster 2 unmatched: 5 of 7 right
    clusters = [0, 0, 0, 0, 1, 1, 2]
    labels = [5, 6, 6, 6, 5, 5, 6]
    acc, mapping = C.hungarian_accuracy(clusters, labels)
    assert acc == pytest.approx(5 / 7) and mapping == {0: 6, 1: 5}
    # a relabelled perfect clustering scores 1
    assert C.hungarian_accuracy([2, 2, 0, 1], ["b", "b", "a", "c"])[0] == 1.0
    with pytest.raises(ValueError, match="equally long"):
        C.hungarian_accuracy([0, 1], [0])


def test_dec_target_distribution_and_loss_by_hand():
    q = torch.tensor([[0.6, 0.4], [0.2, 0.8]])  # f = (0.8, 1.2)
    # row 0: (0.36/0.8, 0.16/1.2) = (0.45, 0.1333) -> (0.7714, 0.2286)
    # row 1: (0.04/0.8, 0.64/1.2) = (0.05, 0.5333) -> (0.0857, 0.9143)
    p = C.dec_target_distribution(q)
    assert p.tolist()[0] == pytest.approx([0.7714, 0.2286], abs=1e-4)
    assert p.tolist()[1] == pytest.approx([0.0857, 0.9143], abs=1e-4)
    expected = (0.7714 * math.log(0.7714 / 0.6) + 0.2286 * math.log(0.2286 / 0.4)
                + 0.0857 * math.log(0.0857 / 0.2) + 0.9143 * math.log(0.9143 / 0.8)) / 2
    assert float(C.dec_loss(q, p)) == pytest.approx(expected, abs=1e-3)


def test_dec_step_moves_a_centroid_towards_its_confident_points():
    z = torch.tensor([[0.0], [0.2], [5.0]])
    mu = torch.tensor([[1.0], [4.0]], requires_grad=True)
    q = C.dec_soft_assignment(z, mu)
    C.dec_loss(q, C.dec_target_distribution(q)).backward()
    with torch.no_grad():
        moved = mu - 0.5 * mu.grad
    assert float(moved[0]) < 1.0 and float(moved[1]) > 4.0  # towards 0.1 and 5.0


def test_dcn_update_is_a_running_mean_from_zero_counts():
    z = torch.tensor([[1.0], [3.0], [8.0]])
    mu, counts, s = C.dcn_update(z, torch.tensor([[2.0], [9.0]]), torch.zeros(2))
    # cluster 0 gets 1 then 3: mu = 1 (first step 1/1), then 1 + (3 - 1)/2 = 2; cluster 1 gets 8
    assert s.tolist() == [0, 0, 1] and counts.tolist() == [2.0, 1.0]
    assert mu.squeeze(1).tolist() == pytest.approx([2.0, 8.0])
    assert float(C.dcn_loss(z, mu, s)) == pytest.approx((1 + 1 + 0) / 2 / 3)


def test_rbf_classifier_and_class_means():
    mu = C.class_means(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]]), torch.tensor([0, 0, 1]), 2)
    assert mu.tolist() == [[1.0, 0.0], [0.0, 4.0]]
    # z = (1, 1): d^2 = (1, 10): r = (1, e^-9) / (1 + e^-9)
    probs = C.rbf_classifier(torch.tensor([[1.0, 1.0]]), mu).exp()
    assert float(probs[0, 1]) == pytest.approx(math.exp(-9) / (1 + math.exp(-9)))
    with pytest.raises(ValueError, match=r"class\(es\) \[2\]"):
        C.class_means(torch.zeros(2, 1), torch.tensor([0, 1]), 3)


@pytest.mark.parametrize("straight_through", [True, False])
def test_the_brain_hands_assignment_scale_and_the_estimator_to_the_ckm_loss(monkeypatch, straight_through):
    import speechbrain as sb

    from amls_speech.brains import clustering as brains
    from amls_speech.brains.testing import tiny_brain

    seen = []
    real = brains.concrete_kmeans_loss
    monkeypatch.setattr(brains, "concrete_kmeans_loss",
                        lambda *a, **kw: seen.append((kw["scale"], kw["hard"])) or real(*a, **kw))
    brain, batch = tiny_brain(brains.DeepClustering, pretrain_epochs=1, assignment_scale=7.0,
                              straight_through=straight_through)
    brain.hparams.epoch_counter.current = 2
    brain.modules.centroids.set(torch.randn(3, brain.modules.extractor.out_features))
    terms = brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch)
    assert seen == [(7.0, straight_through)] and terms["cluster"].item() > 0


@pytest.mark.parametrize("centroid_lr, expected_centroid_lr", [(None, 0.01), (0.5, 0.5)])
def test_the_centroids_step_at_their_own_rate(centroid_lr, expected_centroid_lr):
    import speechbrain as sb

    from amls_speech.brains import clustering as brains
    from amls_speech.brains.testing import tiny_brain

    # tiny_brain's optimizer: SGD at 0.01, so one step moves a parameter by -rate * gradient
    brain, batch = tiny_brain(brains.DeepClustering, pretrain_epochs=1, centroid_lr=centroid_lr)
    brain.hparams.epoch_counter.current = 2
    brain.modules.centroids.set(torch.randn(3, brain.modules.extractor.out_features))
    mu, w = brain.modules.centroids.weight, brain.modules.extractor.parameters().__next__()
    before = (mu.detach().clone(), w.detach().clone())
    sum(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch).values()).backward()
    grads = (mu.grad.clone(), w.grad.clone())
    for opt in brain.optimizers_dict.values():
        opt.step()
    assert torch.allclose(mu.detach(), before[0] - expected_centroid_lr * grads[0], atol=1e-6)
    assert torch.allclose(w.detach(), before[1] - 0.01 * grads[1], atol=1e-6)  # the rest: the shared rate
    assert grads[0].abs().sum() > 0


def test_centroids_at_their_own_rate_are_clipped_and_keep_it_under_annealing():
    import speechbrain as sb

    from amls_speech.brains import clustering as brains
    from amls_speech.brains.testing import tiny_brain
    from amls_speech.schedules import AnnealedLR

    brain, batch = tiny_brain(brains.DeepClustering, pretrain_epochs=1, centroid_lr=0.5)
    brain.hparams.epoch_counter.current = 2
    brain.modules.centroids.set(100 * torch.randn(3, brain.modules.extractor.out_features))
    brain.max_grad_norm = 1e-3
    sum(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch).values()).backward()
    assert brain.modules.centroids.weight.grad.norm() > 1  # unclipped, SGD at 0.5 would move them by > 0.5
    before = brain.modules.centroids.weight.detach().clone()
    brain.optimizers_step()  # SpeechBrain's: clips each optimizer's first group, then steps
    # SGD at 0.5 on a gradient clipped to norm 1e-3 moves them by 5e-4 (float32 rounding at |mu| ~ 100)
    assert (brain.modules.centroids.weight.detach() - before).norm() < 1e-3
    AnnealedLR(0.01)(brain.centroid_optimizer, p=0.0)
    assert brain.centroid_optimizer.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize("clustering", ["ckm", "dcn"])
def test_the_kmeans_losses_over_the_total_scatter(clustering):
    import speechbrain as sb

    from amls_speech.brains import clustering as brains
    from amls_speech.brains.testing import tiny_brain

    terms, targets = {}, {}
    for normalization in ("none", "total_scatter"):
        brain, batch = tiny_brain(brains.DeepClustering, pretrain_epochs=1, clustering=clustering,
                                  kmeans_normalization=normalization)
        brain.hparams.epoch_counter.current = 2
        brain.modules.centroids.set(torch.linspace(-1, 1, 3 * brain.modules.extractor.out_features).view(3, -1))
        torch.manual_seed(0)  # the same Gumbel noise
        out = brain.compute_forward(batch, sb.Stage.TRAIN)
        terms[normalization] = brain.train_losses(out, batch)["cluster"]
        targets[normalization] = brain.cluster_space(out["z"])[out["n_source"]:]
    assert torch.allclose(targets["none"], targets["total_scatter"])
    t = C.total_scatter(targets["none"].detach())
    assert 0 < float(t) < 1  # on the unit sphere: a ratio that differs from the loss
    assert terms["total_scatter"].item() == pytest.approx(terms["none"].item() / t.item(), rel=1e-5)


def test_an_unknown_kmeans_normalization_is_refused():
    from amls_speech.brains import clustering as brains
    from amls_speech.brains.testing import tiny_brain

    brain, _ = tiny_brain(brains.DeepClustering, kmeans_normalization="batch")
    with pytest.raises(ValueError, match="kmeans_normalization"):
        brain.on_fit_start()
