"""Write an end-to-end graph to ONNX and check ONNX Runtime's predictions
against the model's own ``predict`` in PyTorch."""
import os.path as osp
import warnings
from typing import Dict, Iterable, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from mmprune.utils.atomic_io import atomic_write, dump_json_atomic
from ..onnx_export import OPSET, OnnxParityError, manifest_path, ort_session
from .graph import End2EndGraph, end2end_graph
from .parity import match_detections

# share of PyTorch's detections ONNX Runtime must reproduce: near-equal
# scores at the max_per_img cut or in NMS may swap places (seen only on
# untrained models, whose scores are all alike)
MIN_AGREEMENT = 0.99


def _reference(model: nn.Module, graph: End2EndGraph, image: torch.Tensor):
    """The model's own prediction on the same padded image, in the graph's
    coordinates."""
    h, w = image.shape[-2:]
    meta = dict(
        img_shape=(h, w),
        ori_shape=(h, w),
        pad_shape=(h, w),
        batch_input_shape=(h, w),
        scale_factor=(1.0, 1.0))
    # the model's own data preprocessor (channel order, mean and std), not
    # the graph's copy of it, so that the copy is checked too; its padding
    # extends bottom and right and is cropped off
    x = model.data_preprocessor(dict(inputs=[image[0]]),
                                False)['inputs'][..., :h, :w]
    if graph.task == 'segmentation':
        logits = model.encode_decode(x, [meta])
        return None, logits
    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=meta)
    return model.predict(x, [sample], rescale=False)[0].pred_instances, None


def check_end2end(model: nn.Module, graph: End2EndGraph, path: str,
                  images: Iterable[torch.Tensor]) -> Dict:
    """ONNX Runtime's outputs of ``path`` against ``model.predict`` on each
    image; raises :class:`OnnxParityError` when they disagree."""
    session = ort_session(path)
    totals = dict(
        images=0,
        reference=0,
        exported=0,
        ties=0,
        matched=0,
        max_box_diff=0.0,
        max_score_diff=0.0,
        pixels=0,
        pixels_equal=0)
    max_det = getattr(graph.module, 'max_det', None)
    for image in images:
        outs = session.run(None, {'image': image.cpu().numpy()})
        with torch.no_grad():
            ref, logits = _reference(model, graph, image)
        totals['images'] += 1
        if graph.task == 'segmentation':
            # pixels whose two best classes are within float noise may
            # take either label
            want = logits.argmax(1).cpu().numpy()
            totals['pixels'] += want.size
            totals['pixels_equal'] += int((outs[0] == want).sum())
            continue
        ref = ref[:max_det]  # YOLOX keeps every box after NMS
        dets, labels = outs[0][0], outs[1][0]
        agreement = match_detections(ref.bboxes.cpu().numpy(),
                                     ref.scores.cpu().numpy(),
                                     ref.labels.cpu().numpy(), dets[:, :4],
                                     dets[:, 4], labels, max_det or 0)
        for key in ('reference', 'exported', 'matched', 'ties'):
            totals[key] += getattr(agreement, key)
        totals['max_box_diff'] = max(totals['max_box_diff'],
                                     agreement.max_box_diff)
        totals['max_score_diff'] = max(totals['max_score_diff'],
                                       agreement.max_score_diff)
    if graph.task == 'segmentation':
        share = totals['pixels_equal'] / max(totals['pixels'], 1)
        what = f'{share:.4%} of {totals["pixels"]} pixels labelled alike'
    else:
        compared = totals['reference'] - totals['ties']
        # no detections on either side agree; none on one side do not
        share = totals['matched'] / compared if compared else float(
            totals['exported'] == 0)
        what = (f'{totals["matched"]} of PyTorch\'s {compared} '
                f'detections reproduced (boxes within '
                f'{totals["max_box_diff"]:.2g} px, scores within '
                f'{totals["max_score_diff"]:.2g})')
        if totals['ties']:
            what += (f'; {totals["ties"]} more swapped with boxes of equal '
                     'score (at the max_per_img cut or in NMS)')
    totals.update(agreement=share, summary=what)
    if share < MIN_AGREEMENT:
        raise OnnxParityError(
            f'end-to-end graph "{path}" disagrees with the model\'s predict '
            f'in PyTorch on {totals["images"]} image(s): {what}; at least '
            f'{MIN_AGREEMENT:.0%} must agree')
    return totals


def export_end2end(model: nn.Module,
                   path: str,
                   input_shape: Tuple[int, int],
                   check_images: Optional[Iterable[torch.Tensor]] = None,
                   graph: Optional[End2EndGraph] = None) -> Dict:
    """Export ``model`` end to end at ``input_shape`` (H, W) to ``path``
    and its manifest ``<stem>.deploy.json``; checks it against PyTorch on
    ``check_images`` (padded 0-255 batches of one image; one random image
    when none are given). Returns the manifest."""
    logger = MMLogger.get_current_instance()
    was_training = model.training
    model.eval()
    try:
        graph = graph or end2end_graph(model, input_shape)
        device = next(model.parameters()).device
        example = torch.rand(1, 3, *input_shape, device=device) * 255

        def write(tmp: str) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                torch.onnx.export(
                    graph.module, (example, ),
                    tmp,
                    dynamo=False,
                    opset_version=OPSET,
                    input_names=['image'],
                    output_names=graph.output_names)

        atomic_write(path, write)
        logger.info(f'wrote {path}; checking it against PyTorch')
        images = list(check_images) if check_images is not None else []
        check = check_end2end(model, graph, path, images or [example])
    finally:
        model.train(was_training)
    outputs = dict(
        seg='(N, H, W) int64: the class of each pixel') if \
        graph.task == 'segmentation' else dict(
            dets='(N, max_det, 5) float32: x1, y1, x2, y2 in input pixels, '
            'score; rows of score 0 are padding',
            labels='(N, max_det) int64: class index, -1 for padding')
    manifest = dict(
        model=type(model).__name__,
        end2end=True,
        task=graph.task,
        input_shape=list(input_shape),
        dynamic=False,
        opset=OPSET,
        file=osp.basename(path),
        inputs=dict(image='(1, 3, H, W) float32'),
        outputs=outputs,
        max_det=getattr(graph.module, 'max_det', None),
        preprocess=graph.preprocess,
        # node-name scopes of the steps around the network (quantization
        # leaves them in float)
        post_processing_scopes=[
            '/' + name for name, _ in graph.module.named_children()
            if name != 'model'
        ],
        check=dict(
            check, source='test images' if images else 'one random image'),
        size_mb=round(osp.getsize(path) / 2**20, 3))
    dump_json_atomic(manifest, manifest_path(path))
    return manifest
