"""Images of a config's dataset as a deployed graph takes them: the test
pipeline (its Resize set to the graph's size when asked), then padded at
the bottom and right to the graph's fixed input size.

Used to check an export against PyTorch, to calibrate INT8 quantization,
and to evaluate a deployed model with the config's evaluator.
"""
import copy
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch import Tensor


def _resize_steps(pipeline: Sequence[dict]) -> List[dict]:
    return [
        t for t in pipeline
        if isinstance(t, dict) and 'Resize' in str(t.get('type', ''))
    ]


def test_pipeline_input_shape(cfg: Config) -> Optional[Tuple[int, int]]:
    """(H, W) of the test pipeline's Resize ``scale`` (None without one)."""
    loader = cfg.get('test_dataloader') or {}
    for t in _resize_steps(loader.get('dataset', {}).get('pipeline', [])):
        scale = t.get('scale')
        if isinstance(scale, int):
            return scale, scale
        if scale:
            return int(scale[1]), int(scale[0])
    return None


def with_input_shape(pipeline: Sequence[dict],
                     input_shape: Tuple[int, int]) -> List[dict]:
    """``pipeline`` with every Resize (and Pad with a ``size``) set to
    ``input_shape`` (H, W), keeping its ``keep_ratio``: the input-size knob
    of a deployed model."""
    h, w = input_shape
    out = []
    for t in copy.deepcopy(list(pipeline)):
        kind = str(t.get('type', ''))
        if 'Resize' in kind:
            t.pop('scale_factor', None)
            t['scale'] = (w, h)
        elif 'Pad' in kind and t.get('size'):
            t['size'] = (w, h)
        out.append(t)
    return out


def dataset_loader(cfg: Config,
                   split: str = 'test',
                   input_shape: Optional[Tuple[int, int]] = None,
                   pipeline_of: str = 'test'):
    """A batch-1 dataloader without workers over ``cfg``'s ``split``
    dataset (``'train'`` or ``'test'``), with the ``pipeline_of`` split's
    pipeline (the test pipeline for calibration: the images a deployed
    model sees), resized to ``input_shape`` when given."""
    key = f'{split}_dataloader'
    if not cfg.get(key):
        raise KeyError(f'config "{cfg.filename}" has no {key}')
    loader_cfg = copy.deepcopy(cfg[key])
    dataset = loader_cfg['dataset']
    while 'dataset' in dataset and 'pipeline' not in dataset:
        dataset = dataset['dataset']  # a dataset wrapper
    pipeline = dataset.get('pipeline')
    if pipeline_of != split:
        pipeline = cfg[f'{pipeline_of}_dataloader']['dataset']['pipeline']
    if input_shape is not None:
        pipeline = with_input_shape(pipeline, input_shape)
    dataset['pipeline'] = pipeline
    loader_cfg.update(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False))
    loader_cfg.pop('batch_sampler', None)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return Runner.build_dataloader(loader_cfg)


def padded_image(image: Tensor,
                 input_shape: Tuple[int, int],
                 pad_pixel: Sequence[float],
                 where: str = '') -> Tensor:
    """One image (C, h, w) as loaded -> ``(1, C, H, W)`` float, padded at
    the bottom and right with ``pad_pixel``. An image larger than the
    graph is refused: the test pipeline's resize and the graph's size
    differ."""
    c, h, w = image.shape
    H, W = input_shape
    if h > H or w > W:
        raise ValueError(
            f'image {where}is {h}x{w} after the test pipeline, larger than '
            f'the graph\'s input {H}x{W}: export at the test pipeline\'s '
            'size, or test with --input-shape equal to the export\'s')
    out = torch.tensor(
        pad_pixel, dtype=torch.float32).view(1, c, 1, 1).repeat(1, 1, H, W)
    out[0, :, :h, :w] = image.float()
    return out


def graph_inputs(loader,
                 input_shape: Tuple[int, int],
                 pad_pixel: Sequence[float],
                 limit: int = 0) -> Iterator[Tuple[Tensor, dict]]:
    """``(padded image batch, the loader's batch)`` for up to ``limit``
    images (0: all)."""
    for i, data in enumerate(loader):
        if limit and i >= limit:
            return
        sample = data['data_samples'][0]
        where = f'"{sample.metainfo.get("img_path", i)}" '
        yield padded_image(data['inputs'][0], input_shape, pad_pixel,
                           where), data
