"""Preprocessed batches of a config's train dataloader, for tracing and for
gradient-based channel ranking, outside the runner's own iterators."""
from typing import Iterator

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner


def train_batches(cfg: Config, model: nn.Module) -> Iterator[dict]:
    """Endless preprocessed batches from ``cfg``'s train dataloader (the
    test dataloader when a config has none), built once without workers so
    that a runner's iterators are untouched; restarts at the end."""
    key = 'train_dataloader' if cfg.get('train_dataloader') else \
        'test_dataloader'
    loader_cfg = dict(cfg[key])
    loader_cfg.update(num_workers=0, persistent_workers=False)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        loader = Runner.build_dataloader(loader_cfg)
    while True:
        for batch in loader:
            yield model.data_preprocessor(batch, True)


def tracing_batch(cfg: Config, model: nn.Module) -> dict:
    """One preprocessed batch of ``cfg``'s train dataloader."""
    return next(train_batches(cfg, model))
