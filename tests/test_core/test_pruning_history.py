"""Torch-Pruning's pruning history as plain data, replayed on a freshly built
model (RTMDet, Oriented R-CNN, SegFormer, YOLOX); a group that fails half way
is rolled back and reported."""
import json

import pytest
import torch
import torch_pruning as tp
from conftest import ORCNN, RTMDET, SEGFORMER, YOLOX, state_shapes, tracing_cfg

import mmprune  # noqa: F401  (registries, compat shims)
from mmprune.core.structured import prune_model
from mmprune.core.structured.pruning_history import replay_pruning_history
from mmprune.datasets.train_batches import tracing_batch
from mmprune.models.builder import build_model_from


@pytest.mark.parametrize('path,method', [(RTMDET, 'random'), (ORCNN, 'l1'),
                                         (SEGFORMER, 'lamp'), (YOLOX, 'slim')])
def test_history_replay_rebuilds_the_same_pruned_model(tmp_path, path, method):
    cfg = tracing_cfg(path, tmp_path / 'data', img_size=128)
    torch.manual_seed(0)
    model = build_model_from(cfg)
    data = tracing_batch(cfg, model)
    result = prune_model(model, data, method, ratio=0.4)
    # plain data: survives JSON (and so weights_only checkpoints)
    history = json.loads(json.dumps(result.history))
    fresh = build_model_from(cfg)
    assert state_shapes(fresh) != state_shapes(model)
    replay_pruning_history(fresh, tracing_batch(cfg, fresh), history)
    assert state_shapes(fresh) == state_shapes(model)
    fresh.load_state_dict(model.state_dict())
    model.eval()
    fresh.eval()
    with torch.no_grad():
        a = model(data['inputs'], data['data_samples'], mode='tensor')
        b = fresh(data['inputs'], data['data_samples'], mode='tensor')
    flat_a = [t for t in tp.utils.flatten_as_list(a)]
    flat_b = [t for t in tp.utils.flatten_as_list(b)]
    assert all(torch.equal(x, y) for x, y in zip(flat_a, flat_b))


def test_replay_names_a_layer_the_model_lacks(tmp_path):
    cfg = tracing_cfg(RTMDET, tmp_path / 'data', img_size=128)
    model = build_model_from(cfg)
    with pytest.raises(ValueError, match='backbone.no_such_conv'):
        replay_pruning_history(model, tracing_batch(cfg, model),
                               [['backbone.no_such_conv', True, [0]]])


def test_a_group_that_fails_is_rolled_back_and_reported(tmp_path, monkeypatch):
    cfg = tracing_cfg(RTMDET, tmp_path / 'data', img_size=128)
    model = build_model_from(cfg)
    data = tracing_batch(cfg, model)
    victim = model.neck.out_convs[0].bn
    conv = model.neck.out_convs[0].conv
    base = tp.pruner.function.BasePruningFunc
    original = base._prune_parameter_and_grad

    def prune_parameter(self, weight, keep_idxs, dim):
        # fails half way: num_features and running stats already changed
        if weight is victim.weight:
            raise RuntimeError('cannot prune this one')
        return original(self, weight, keep_idxs, dim)

    monkeypatch.setattr(base, '_prune_parameter_and_grad', prune_parameter)
    widths = (conv.out_channels, victim.num_features)
    result = prune_model(model, data, 'l1', ratio=0.5)
    failed = [s for s in result.skipped if 'rolled back' in s['reason']]
    assert failed and 'cannot prune this one' in failed[0]['reason']
    # the failing group is whole, the rest is pruned, the model runs
    assert (conv.out_channels, victim.num_features) == widths
    assert conv.weight.shape[0] == victim.running_mean.shape[0] == widths[0]
    assert result.params_after < 0.6 * result.params_before
    model.train()
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    assert torch.isfinite(loss)
