"""The sparse-training penalties (network slimming, group slimming, group
norm, growing regularisation) reach the gradients, on RTMDet's CSP blocks
too."""
import pytest
import torch
from conftest import RTMDET, tracing_cfg

import mmprune  # noqa: F401  (registries, compat shims)
from mmprune.core.structured.sparse_training import SparseRegularizer
from mmprune.datasets.train_batches import tracing_batch
from mmprune.models.builder import build_model_from


def test_sparse_regularizer_adds_the_slimming_penalty(tmp_path):
    cfg = tracing_cfg(RTMDET, tmp_path / 'data', img_size=128)
    model = build_model_from(cfg)
    data = tracing_batch(cfg, model)
    reg = SparseRegularizer(model, data, 'slim', 1e-2, [])
    model.train()
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    bn = model.backbone.stage1[0].bn
    bn.weight.data[:3] = torch.tensor([0.5, -0.5, 0.0])
    before = bn.weight.grad.clone()
    reg.regularize(model, strength=1e-2)
    assert torch.allclose(
        bn.weight.grad - before, 1e-2 * torch.sign(bn.weight.data), atol=1e-4)
    with pytest.raises(ValueError, match='no sparse-training phase'):
        SparseRegularizer(model, data, 'l1', 1e-2, [])


@pytest.mark.parametrize('method', ['group_slim', 'group_sl', 'growing_reg'])
def test_group_penalties_run_on_concat_groups(tmp_path, method):
    """RTMDet's CSP blocks concatenate branches into one group (the
    group-lasso penalty crashed there before)."""
    cfg = tracing_cfg(RTMDET, tmp_path / 'data', img_size=128)
    model = build_model_from(cfg)
    data = tracing_batch(cfg, model)
    reg = SparseRegularizer(model, data, method, 1e-2, [])
    model.train()
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    before = {
        n: p.grad.clone()
        for n, p in model.named_parameters() if p.grad is not None
    }
    reg.regularize(model, strength=1e-2)
    changed = [
        n for n, p in model.named_parameters()
        if n in before and not torch.equal(p.grad, before[n])
    ]
    assert any('bn' in n for n in changed) or method != 'group_slim'
    assert len(changed) > 10
