"""The roll-back search replays many prefixes of a history on one traced
graph: each replay, from the restored unpruned model, must give what a
replay on a freshly traced graph gives."""
import torch
from conftest import RTMDET, tracing_cfg

import mmprune  # noqa: F401
from mmprune.core.structured import prune_model
from mmprune.core.structured.model_check import (restore_modules,
                                                 snapshot_modules)
from mmprune.core.structured.pruning_history import (HistoryReplayer,
                                                     replay_pruning_history)
from mmprune.datasets.train_batches import tracing_batch
from mmprune.models.builder import build_model_from


def _shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_one_graph_replays_prefixes_as_fresh_graphs_do(tmp_path):
    cfg = tracing_cfg(RTMDET, tmp_path / 'data', img_size=128)
    torch.manual_seed(0)
    model = build_model_from(cfg)
    data = tracing_batch(cfg, model)
    unpruned = {k: v.clone() for k, v in model.state_dict().items()}
    history = prune_model(model, data, 'l1', ratio=0.3).history
    assert len(history) > 10
    torch.manual_seed(0)
    shared = build_model_from(cfg)
    shared.load_state_dict(unpruned)
    snapshot = snapshot_modules(shared.modules())
    replayer = HistoryReplayer(shared, data)
    # the whole history, then shorter and longer prefixes, on one graph
    for k in (len(history), 3, len(history) // 2, len(history)):
        restore_modules(snapshot)
        replayer.replay(history[:k])
        torch.manual_seed(0)
        fresh = build_model_from(cfg)
        fresh.load_state_dict(unpruned)
        replay_pruning_history(fresh, data, history[:k])
        assert _shapes(shared) == _shapes(fresh), k
        assert all(
            torch.equal(v,
                        fresh.state_dict()[n])
            for n, v in shared.state_dict().items())
    assert _shapes(shared) == _shapes(model)
