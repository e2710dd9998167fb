"""Preprocessed batches of a config's train dataloader, for tracing and for
gradient-based channel ranking, outside the runner's own iterators."""
import itertools
from typing import Iterator, Optional, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmprune.core.tracing import runtime_info_defaults
from mmprune.datasets.synthetic_batch import synthetic_batch_of_config

# the image size of a synthetic batch when none is asked for
SYNTHETIC_SHAPE = (256, 256)


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
            # batch augments (YOLOX's resize) read the iteration
            with runtime_info_defaults():
                data = model.data_preprocessor(batch, True)
            yield data


def tracing_batch(cfg: Config, model: nn.Module) -> dict:
    """One preprocessed batch of ``cfg``'s train dataloader."""
    return next(train_batches(cfg, model))


def batches_or_synthetic(cfg: Config,
                         model: nn.Module,
                         synthetic: bool = False,
                         input_shape: Optional[Tuple[int, int]] = None,
                         needs_real_data: bool = False,
                         what: str = 'pruning') -> Tuple[Iterator[dict], str]:
    """Preprocessed training batches and where they come from: the
    config's train dataloader, or a synthetic batch in the model's own
    format when ``synthetic`` is set or the dataset is not on disk (said in
    the log). ``needs_real_data`` (gradient criteria) makes a missing
    dataset an error instead."""
    logger = MMLogger.get_current_instance()
    shape = tuple(input_shape or SYNTHETIC_SHAPE)
    if not synthetic:
        batches = train_batches(cfg, model)
        try:
            first = next(batches)
        except (FileNotFoundError, OSError) as e:
            if needs_real_data:
                raise FileNotFoundError(
                    f'{what} ranks channels by loss gradients and needs the '
                    f'training data of "{cfg.filename}", which is not '
                    f'available: {type(e).__name__}: {e}') from None
            logger.warning(
                f'{what}: the training data of "{cfg.filename}" is not '
                f'available ({type(e).__name__}: {e}); tracing on a '
                f'synthetic batch of {shape[0]}x{shape[1]} images instead '
                '(data-free criteria only need shapes)')
        else:
            return itertools.chain([first], batches), 'train_dataloader'
    elif needs_real_data:
        raise ValueError(f'{what} ranks channels by loss gradients: it '
                         'needs the real training data, not a synthetic '
                         'batch')
    data = synthetic_batch_of_config(model, cfg, shape)
    return itertools.repeat(data), f'synthetic {shape[0]}x{shape[1]} batch'
