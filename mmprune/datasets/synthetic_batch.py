"""A synthetic batch in a model's own format, for tracing without the
dataset: images plus boxes and masks (mmdet), rotated boxes (mmrotate) or a
segmentation map (mmseg). Data-free criteria only need shapes to trace;
gradient criteria need the real data and must not use it."""
from typing import Iterator, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

from mmprune.core.model_family import family_of, task_of_scope
from mmprune.core.tracing import runtime_info_defaults

TASKS = ('det', 'rotated', 'seg')


def task_of(cfg: Config) -> str:
    """``det``, ``rotated`` or ``seg``, from the config's default scope
    (the library whose registry builds the model), as the model families
    declare it."""
    return task_of_scope(cfg.get('default_scope', 'mmdet'))


def _pipeline_steps(cfg: Config) -> Iterator[dict]:
    """The transforms of the config's training pipeline, through dataset
    wrappers (``dataset``, ``datasets``)."""
    loader = cfg.get('train_dataloader') or {}
    stack = [loader.get('dataset') or {}]
    while stack:
        dataset = stack.pop()
        if not isinstance(dataset, dict):
            continue
        yield from (t for t in dataset.get('pipeline') or []
                    if isinstance(t, dict))
        stack.append(dataset.get('dataset'))
        stack.extend(dataset.get('datasets') or [])


def ground_truth_format(cfg: Config) -> dict:
    """What the config's training pipeline hands its model beyond the
    task's defaults, as keywords of :func:`synthetic_training_batch`:
    ``box_type`` (the type of ``gt_bboxes`` after loading and conversion:
    Oriented RepPoints keeps DOTA's quadrilaterals, ``qbox``, where the
    other rotated detectors convert them to ``rbox``) and ``edge_map``
    (PIDNet's loss reads the edge map ``GenerateEdge`` adds)."""
    box_type, edge_map = None, False
    for t in _pipeline_steps(cfg):
        kind = str(t.get('type', '')).split('.')[-1]
        if kind == 'LoadAnnotations' and t.get('box_type'):
            box_type = t['box_type']
        elif kind == 'ConvertBoxType':
            box_type = (t.get('box_type_mapping')
                        or {}).get('gt_bboxes', box_type)
        elif kind == 'GenerateEdge':
            edge_map = True
    if task_of(cfg) != 'rotated' or box_type not in ('rbox', 'qbox'):
        box_type = None  # the task's default
    return dict(box_type=box_type, edge_map=edge_map)


def synthetic_batch_of_config(model: nn.Module,
                              cfg: Config,
                              input_shape: Tuple[int, int] = (128, 128),
                              **kwargs) -> dict:
    """:func:`synthetic_training_batch` for the task and ground-truth
    format of the config ``model`` was built from."""
    return synthetic_training_batch(model, task_of(cfg), input_shape,
                                    **ground_truth_format(cfg), **kwargs)


def num_classes_of(model: nn.Module) -> int:
    """The class count of the model's (first) head that states one."""
    for m in model.modules():
        n = getattr(m, 'num_classes', None)
        if isinstance(n, int) and n > 0:
            return n
    return 1


def predicts_masks(model: nn.Module) -> bool:
    """Whether a detector has an instance-mask head (mask ground truth is
    then part of its loss; heads without one may choke on it)."""
    return any(
        n.endswith('mask_head') or any(
            k in type(m).__name__
            for k in ('Ins', 'SOLO', 'Mask', 'CondInst', 'Panoptic'))
        for n, m in model.named_modules() if n)


def _boxes(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """``n`` boxes (x1, y1, x2, y2) of a quarter to half of the image."""
    bw = rng.uniform(0.25, 0.5, n) * w
    bh = rng.uniform(0.25, 0.5, n) * h
    x1 = rng.uniform(0, w - bw)
    y1 = rng.uniform(0, h - bh)
    return np.stack([x1, y1, x1 + bw, y1 + bh], 1).astype(np.float32)


def _det_sample(task: str, rng, h: int, w: int, num_classes: int, index: int,
                with_masks: bool, box_type: str):
    from mmdet.structures import DetDataSample
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    n = 2
    boxes = _boxes(rng, n, h, w)
    labels = torch.as_tensor(rng.integers(0, num_classes, n))
    sample = DetDataSample(
        metainfo=dict(
            img_id=index,
            img_path=f'synthetic_{index}.png',
            ori_shape=(h, w),
            img_shape=(h, w),
            pad_shape=(h, w),
            scale_factor=(1.0, 1.0),
            flip=False,
            flip_direction=None,
            # where the image lies in its padded canvas (CenterNet's test
            # transform records it; its predict reads it)
            border=np.array([0, h, 0, w], dtype=np.float32)))
    gt = InstanceData(labels=labels)
    ignored = InstanceData(labels=torch.zeros(0, dtype=torch.long))
    if task == 'rotated':
        from mmrotate.structures.bbox import QuadriBoxes, RotatedBoxes
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] +
                                                   boxes[:, 3]) / 2
        bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        angle = rng.uniform(-np.pi / 4, np.pi / 4, n).astype(np.float32)
        gt.bboxes = RotatedBoxes(
            torch.as_tensor(np.stack([cx, cy, bw, bh, angle], 1)))
        ignored.bboxes = RotatedBoxes(torch.zeros(0, 5))
        if box_type == 'qbox':  # the rotated boxes' four corners
            gt.bboxes = gt.bboxes.convert_to('qbox')
            ignored.bboxes = QuadriBoxes(torch.zeros(0, 8))
    else:
        gt.bboxes = HorizontalBoxes(torch.as_tensor(boxes))
        ignored.bboxes = HorizontalBoxes(torch.zeros(0, 4))
    if with_masks:
        masks = np.zeros((n, h, w), dtype=np.uint8)
        for i, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
            masks[i, y1:y2, x1:x2] = 1
        gt.masks = BitmapMasks(masks, h, w)
    sample.gt_instances = gt
    sample.ignored_instances = ignored
    return sample


def _seg_sample(rng, h: int, w: int, num_classes: int, index: int,
                edge_map: bool):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    sample = SegDataSample(
        metainfo=dict(
            img_path=f'synthetic_{index}.png',
            ori_shape=(h, w),
            img_shape=(h, w),
            pad_shape=(h, w),
            scale_factor=(1.0, 1.0),
            flip=False,
            flip_direction=None,
            reduce_zero_label=False))
    seg = torch.as_tensor(rng.integers(0, num_classes, (1, h, w)))
    sample.gt_sem_seg = PixelData(data=seg)
    if edge_map:  # where the class changes, as mmseg's GenerateEdge marks
        edge = torch.zeros_like(seg, dtype=torch.uint8)
        edge[:, 1:] |= (seg[:, 1:] != seg[:, :-1]).to(torch.uint8)
        edge[:, :, 1:] |= (seg[:, :, 1:] != seg[:, :, :-1]).to(torch.uint8)
        sample.gt_edge_map = PixelData(data=edge)
    return sample


def synthetic_training_batch(model: nn.Module,
                             task: str,
                             input_shape: Tuple[int, int] = (128, 128),
                             batch_size: int = 2,
                             seed: int = 0,
                             num_classes: Optional[int] = None,
                             box_type: Optional[str] = None,
                             edge_map: bool = False) -> dict:
    """A preprocessed batch (``dict(inputs=..., data_samples=...)``) of
    random images with ground truth of ``task`` (see :data:`TASKS`), run
    through ``model.data_preprocessor`` as a training batch. ``box_type``:
    ``qbox`` gives a rotated task quadrilateral boxes (default: the task's,
    ``hbox`` or ``rbox``); ``edge_map``: a segmentation batch also carries
    the class edges (:func:`ground_truth_format` reads both from a
    config)."""
    if task not in TASKS:
        raise ValueError(f'task {task!r}: must be one of {TASKS}')
    box_type = box_type or ('rbox' if task == 'rotated' else 'hbox')
    allowed = ('rbox', 'qbox') if task == 'rotated' else ('hbox', )
    if task != 'seg' and box_type not in allowed:
        raise ValueError(f'box_type {box_type!r}: a {task} batch takes '
                         f'{" or ".join(allowed)}')
    h, w = (int(x) for x in input_shape)
    if h < 1 or w < 1:
        raise ValueError(f'input_shape = {tuple(input_shape)}: must be '
                         'positive')
    rng = np.random.default_rng(seed)
    classes = num_classes or num_classes_of(model)
    with_masks = task == 'det' and predicts_masks(model)
    inputs, samples = [], []
    for i in range(batch_size):
        inputs.append(
            torch.as_tensor(rng.integers(0, 256, (3, h, w), dtype=np.uint8)))
        samples.append(
            _seg_sample(rng, h, w, classes, i, edge_map) if task == 'seg' else
            _det_sample(task, rng, h, w, classes, i, with_masks, box_type))
    pre = model.data_preprocessor
    # Synthetic images keep their asked size. mmseg's training
    # preprocessing pads to the config's crop size (1024 px for
    # Cityscapes), and predict then crops that padding off an image of the
    # asked size. mmdet's batch augments pad or resize to the training
    # scale (EfficientNet's RetinaNet pads every 128 px batch to 896 px,
    # which made tracing it 49x dearer: the 5 minutes and 14 GB); a
    # tracing batch needs the model's format, not its augmentation.
    saved = dict(
        size=getattr(pre, 'size', None),
        size_divisor=getattr(pre, 'size_divisor', None),
        batch_augments=getattr(pre, 'batch_augments', None))
    if task == 'seg' and saved['size'] is not None:
        pre.size, pre.size_divisor = None, saved['size_divisor'] or 32
    if saved['batch_augments'] is not None:
        pre.batch_augments = None
    try:
        with runtime_info_defaults():
            return pre(dict(inputs=inputs, data_samples=samples), True)
    finally:
        if task == 'seg' and saved['size'] is not None:
            pre.size, pre.size_divisor = saved['size'], saved['size_divisor']
        if saved['batch_augments'] is not None:
            pre.batch_augments = saved['batch_augments']


def synthetic_test_batch(model: nn.Module, height: int, width: int) -> dict:
    """One random image in test mode (no ground truth) with the meta a
    detector or segmentor reads, through the model's data preprocessor:
    for FLOPs, latency, export and probing feature widths."""
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
    meta = dict(
        img_shape=(height, width),
        ori_shape=(height, width),
        pad_shape=(height, width),
        scale_factor=(1.0, 1.0),
        batch_input_shape=(height, width))
    family = family_of(model)
    if family is not None and family.task == 'seg':
        from mmseg.structures import SegDataSample
        sample = SegDataSample(metainfo=dict(meta, padding_size=[0, 0, 0, 0]))
    else:
        from mmdet.structures import DetDataSample

        # where the image lies in its padded canvas (CenterNet's test
        # transform records it; its predict reads it)
        sample = DetDataSample(
            metainfo=dict(
                meta, border=np.array([0, height, 0, width],
                                      dtype=np.float32)))
    return model.data_preprocessor(
        dict(inputs=[image], data_samples=[sample]), False)
