"""The networks train in the channels_last (NHWC) memory format by default, to the same values as in NCHW."""

import pytest
import speechbrain as sb
import torch

from amls_speech.brains import AMLS, DANN, DeepClustering
from amls_speech.brains.testing import tiny_brain


def started(cls, **hparams):
    brain, batch = tiny_brain(cls, **hparams)
    brain.on_fit_start()
    brain.hparams.epoch_counter.current = 1
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    return brain, batch


def forward_and_first_conv_output(brain, batch):
    seen = []
    conv = next(m for m in brain.modules.extractor.modules() if isinstance(m, torch.nn.Conv2d))
    handle = conv.register_forward_hook(lambda module, inputs, output: seen.append(output))
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    handle.remove()
    return out, seen[0]


@pytest.mark.parametrize("cls", [DANN, AMLS, DeepClustering])
def test_channels_last_is_the_default_and_changes_no_value(cls):
    nhwc, batch = started(cls)
    nchw, _ = started(cls, channels_last=False)
    nchw.modules.load_state_dict(nhwc.modules.state_dict())  # the same weights (tiny_brain seeds both alike)
    torch.manual_seed(0)
    out_nhwc, conv_nhwc = forward_and_first_conv_output(nhwc, batch)
    torch.manual_seed(0)
    out_nchw, conv_nchw = forward_and_first_conv_output(nchw, batch)
    assert conv_nhwc.is_contiguous(memory_format=torch.channels_last) and not conv_nhwc.is_contiguous()
    assert conv_nchw.is_contiguous() and not conv_nchw.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(out_nhwc["logits"], out_nchw["logits"], atol=1e-5)
    for brain in (nhwc, nchw):  # one whole training step each: forward, losses, backward, optimizer
        brain.step = 1
        torch.manual_seed(0)
        brain.fit_batch(batch)
    for (name, a), b in zip(nhwc.modules.state_dict().items(), nchw.modules.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), name
