"""A deployed model's accuracy: PyTorch, exported and quantized models run
over the config's test set, scored by the config's own evaluator."""
from typing import Callable, Dict, Optional, Tuple

import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar

from .deploy_data import dataset_loader


def _restrict_to_seen(evaluator: Evaluator, img_ids: list) -> None:
    """A COCO metric scores every image of its annotation file; with
    ``limit`` only the images predicted are scored."""
    for metric in evaluator.metrics:
        if hasattr(metric, 'img_ids'):
            metric.img_ids = img_ids


def evaluate(cfg,
             predict: Callable[[dict], list],
             input_shape: Optional[Tuple[int, int]] = None,
             limit: int = 0,
             show_progress: bool = True) -> Dict[str, float]:
    """Scores of ``predict`` (a loader batch of one image -> its data
    samples with predictions) on the first ``limit`` test images (0: all),
    with the test pipeline resized to ``input_shape`` when given."""
    loader = dataset_loader(cfg, 'test', input_shape)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = loader.dataset.metainfo
    total = min(limit, len(loader.dataset)) if limit else len(loader.dataset)
    bar = ProgressBar(total) if show_progress else None
    seen = []
    for i, data in enumerate(loader):
        if i >= total:
            break
        with torch.no_grad():
            samples = predict(data)
        seen.append(data['data_samples'][0].metainfo.get('img_id'))
        evaluator.process(data_samples=samples, data_batch=data)
        if bar:
            bar.update()
    if total < len(loader.dataset):
        _restrict_to_seen(evaluator, seen)
    return _score_empty_results(evaluator, evaluator.evaluate(total))


def _score_empty_results(evaluator: Evaluator,
                         metrics: Dict[str, float]) -> Dict[str, float]:
    """mmdet's COCO metric returns no scores at all when no image has a
    detection (an untrained or broken model); the mAP of no detections is
    0, and a table of models needs the row."""
    for metric in evaluator.metrics:
        # a metric's scores carry its prefix (coco/...); without one,
        # what it returned cannot be told apart
        kinds = getattr(metric, 'metrics', None)
        if not metric.prefix or not isinstance(kinds, (list, tuple)) or any(
                key.startswith(f'{metric.prefix}/') for key in metrics):
            continue
        MMLogger.get_current_instance().warning(
            f'{type(metric).__name__} scored nothing (no detections on '
            'any image): its mAP is 0')
        for kind in kinds:
            metrics[f'{metric.prefix}/{kind}_mAP'] = 0.0
    return metrics


def torch_predictor(model: torch.nn.Module) -> Callable[[dict], list]:
    """The model's own ``test_step``, as ``tools/test.py`` runs it."""
    model.eval()
    return model.test_step


def main_metric(metrics: Dict[str, float]) -> Tuple[str, float]:
    """The headline metric: bbox mAP, mIoU, or the first."""
    for key in ('coco/bbox_mAP', 'dota/mAP', 'mIoU'):
        if key in metrics:
            return key, float(metrics[key])
    if not metrics:
        raise ValueError('the evaluator returned no metric')
    key = next(iter(metrics))
    return key, float(metrics[key])
