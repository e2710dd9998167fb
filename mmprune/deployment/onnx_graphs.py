"""What of an mmdet, mmrotate or mmseg model goes into ONNX graphs.

The network graph holds the backbone, the neck and the dense head (the
detection head, a two-stage detector's RPN head, or a segmentor's decode
head) up to the head's raw outputs. A two-stage detector adds one graph per
RoI head (box, mask; one per cascade stage) on RoI features with a dynamic
number of RoIs. What lies between and after the graphs (the prior boxes,
box decoding, NMS, RoI Align, resizing a segmentation map) is data-dependent
post-processing that runs in Python beside ONNX Runtime with the model's own
``predict_by_feat`` code (see ``onnxruntime_model``); in the graph it would
need mmcv's custom ONNX Runtime operators, which mmcv 2.x no longer builds.

A DETR-family detector's network graph holds the backbone, the neck, the
transformer and the detection head's branches, up to the outputs its
``predict_by_feat`` reads (the class scores and boxes of the queries); the
post-processing (top-k, box conversion, rescaling) runs in Python.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from torch.utils import _pytree as pytree


@dataclass
class OnnxGraph:
    """One graph to export: ``module`` maps ``example_inputs`` to a tuple of
    tensors; ``replaces`` names the model attribute whose forward the graph
    stands in for at prediction time."""
    name: str
    module: nn.Module
    example_inputs: Tuple[torch.Tensor, ...]
    input_names: List[str]
    output_names: List[str]
    dynamic_axes: Dict[str, Dict[int, str]] = field(default_factory=dict)
    replaces: str = ''


def is_detection_transformer(model: nn.Module) -> bool:
    from mmdet.models.detectors import DetectionTransformer
    return isinstance(model, DetectionTransformer)


def dense_head_of(model: nn.Module) -> Tuple[str, nn.Module]:
    """The attribute name and module of the head that the network graph
    ends with."""
    for name in ('rpn_head', 'bbox_head', 'decode_head'):
        head = getattr(model, name, None)
        if isinstance(head, nn.Module):
            return name, head
    raise ValueError(
        f'{type(model).__name__} has none of rpn_head, bbox_head or '
        'decode_head: the ONNX export covers detectors, rotated detectors, '
        'DETR-family detectors and encoder-decoder segmentors')


def has_roi_stage(model: nn.Module) -> bool:
    return isinstance(getattr(model, 'roi_head', None), nn.Module) and \
        isinstance(getattr(model, 'rpn_head', None), nn.Module)


class NetworkGraph(nn.Module):
    """``extract_feat`` then the dense head's forward, outputs flattened
    (the features first when a RoI stage reads them)."""

    def __init__(self, model: nn.Module, keep_features: bool) -> None:
        super().__init__()
        self.model = model
        self.head = dense_head_of(model)[1]
        self.keep_features = keep_features
        self.head_spec: Optional[pytree.TreeSpec] = None
        self.num_features = 0

    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.model.extract_feat(inputs)
        flat, self.head_spec = pytree.tree_flatten(self.head(feats))
        feats = tuple(feats) if self.keep_features else ()
        self.num_features = len(feats)
        return feats + tuple(flat)


class _Captured(Exception):
    """Stops a head's ``predict`` at ``predict_by_feat``, carrying the
    outputs it was about to post-process."""

    def __init__(self, outs: tuple) -> None:
        super().__init__()
        self.outs = outs


def image_data_samples(input_shape: Tuple[int, int]) -> list:
    """One ``DetDataSample`` for a batch-1 image of ``input_shape`` with no
    padding: what a DETR transformer reads its masks from."""
    from mmdet.structures import DetDataSample
    h, w = input_shape
    return [
        DetDataSample(
            metainfo=dict(
                img_shape=(h, w),
                batch_input_shape=(h, w),
                pad_shape=(h, w),
                ori_shape=(h, w),
                scale_factor=(1.0, 1.0)))
    ]


class TransformerNetworkGraph(nn.Module):
    """A DETR-family detector up to what its head's ``predict`` hands to
    ``predict_by_feat``: ``extract_feat``, ``forward_transformer`` and the
    head's forward exactly as ``predict`` calls it (DETR and DAB-DETR
    read the last decoder layer only, Deformable DETR and DINO every
    layer), outputs flattened. The head's ``predict`` is run and stopped
    at ``predict_by_feat`` rather than repeating each head's choice of
    inputs here. ``forward_transformer``'s outputs are recorded
    (``transformer_spec``, ``transformer_shapes``) so that prediction with
    the graph can hand the head's ``predict`` stand-ins of the same
    layout."""

    def __init__(self, model: nn.Module, input_shape: Tuple[int, int]) -> None:
        super().__init__()
        self.model = model
        self.head = model.bbox_head
        self.data_samples = image_data_samples(input_shape)
        self.head_spec: Optional[pytree.TreeSpec] = None
        self.num_features = 0
        self.transformer_spec: Optional[pytree.TreeSpec] = None
        self.transformer_shapes: List[List[int]] = []

    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.model.extract_feat(inputs)
        head_inputs = self.model.forward_transformer(feats, self.data_samples)
        leaves, self.transformer_spec = pytree.tree_flatten(head_inputs)
        self.transformer_shapes = [
            list(t.shape) if isinstance(t, torch.Tensor) else None
            for t in leaves
        ]

        def capture(*outs, **kwargs):
            raise _Captured(outs)

        self.head.predict_by_feat = capture  # shadows the method
        try:
            self.head.predict(
                **head_inputs,
                batch_data_samples=self.data_samples,
                rescale=False)
            raise RuntimeError(
                f'{type(self.head).__name__}.predict did not call '
                'predict_by_feat: its outputs cannot be exported')
        except _Captured as captured:
            outs = captured.outs
        finally:
            del self.head.predict_by_feat
        flat, self.head_spec = pytree.tree_flatten(outs)
        return tuple(flat)


def transformer_stand_ins(spec: str, shapes: List) -> object:
    """``forward_transformer``'s outputs as zeros of the recorded layout:
    what a head's ``predict`` indexes before calling its forward, which the
    graph's outputs stand in for."""
    leaves = [torch.zeros(s) if s is not None else None for s in shapes]
    return pytree.tree_unflatten(leaves, pytree.treespec_loads(spec))


class RoIHeadGraph(nn.Module):
    """A RoI head's forward on RoI features, outputs flattened."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head
        self.spec: Optional[pytree.TreeSpec] = None

    def forward(self, roi_feats: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        flat, self.spec = pytree.tree_flatten(self.head(roi_feats))
        return tuple(flat)


def _roi_feature_shape(extractor: nn.Module) -> Tuple[int, int, int]:
    size = extractor.roi_layers[0].output_size
    size = size if isinstance(size, (tuple, list)) else (size, size)
    return extractor.out_channels, int(size[0]), int(size[1])


def roi_heads(model: nn.Module) -> List[Tuple[str, nn.Module, nn.Module]]:
    """``(attribute path, head, its RoI extractor)`` of every RoI head of a
    two-stage detector: the box head and the mask head, one per stage of a
    cascade."""
    roi_head = model.roi_head
    found = []
    for kind in ('bbox', 'mask'):
        heads = getattr(roi_head, f'{kind}_head', None)
        extractors = getattr(roi_head, f'{kind}_roi_extractor', None)
        if heads is None:
            continue
        if kind == 'mask' and (extractors is None or getattr(
                roi_head, 'share_roi_extractor', False)):
            extractors = roi_head.bbox_roi_extractor
        if isinstance(heads, nn.ModuleList):
            if not isinstance(extractors, nn.ModuleList):
                extractors = [extractors] * len(heads)
            found += [(f'roi_head.{kind}_head.{i}', h, e)
                      for i, (h, e) in enumerate(zip(heads, extractors))]
        else:
            found.append((f'roi_head.{kind}_head', heads, extractors))
    return found


def onnx_graphs(model: nn.Module,
                input_shape: Tuple[int, int],
                dynamic: bool = False,
                num_rois: int = 8) -> List[OnnxGraph]:
    """The graphs that make up ``model`` (in eval mode) for an
    ``input_shape`` (H, W) image, batch 1. ``dynamic`` makes the image's
    batch, height and width dynamic."""
    transformer = is_detection_transformer(model)
    if transformer and dynamic:
        raise ValueError(
            f'{type(model).__name__} is a DETR-family detector: its '
            'transformer builds its masks and positions from the image '
            'size, which the graph fixes; export without --dynamic, at the '
            'size it will run at')
    two_stage = has_roi_stage(model)
    network = TransformerNetworkGraph(model, input_shape) if transformer \
        else NetworkGraph(model, keep_features=two_stage)
    device = next(model.parameters()).device
    image = torch.randn(1, 3, *input_shape, device=device)
    with torch.no_grad():
        outs = network(image)
    names = [f'feat{i}' for i in range(network.num_features)] + \
        [f'head{i}' for i in range(len(outs) - network.num_features)]
    axes = {}
    if dynamic:
        axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({
            n: {
                0: 'batch',
                **({
                    2: f'{n}_h',
                    3: f'{n}_w'
                } if o.dim() == 4 else {})
            }
            for n, o in zip(names, outs)
        })
    graphs = [
        OnnxGraph(
            'network',
            network, (image, ), ['input'],
            names,
            axes,
            replaces=dense_head_of(model)[0])
    ]
    if two_stage:
        for path, head, extractor in roi_heads(model):
            graph = RoIHeadGraph(head)
            feats = torch.randn(
                num_rois, *_roi_feature_shape(extractor), device=device)
            with torch.no_grad():
                outs = graph(feats)
            names = [f'out{i}' for i in range(len(outs))]
            graphs.append(
                OnnxGraph(
                    path,
                    graph, (feats, ), ['roi_feats'],
                    names, {n: {
                        0: 'rois'
                    }
                            for n in ['roi_feats'] + names},
                    replaces=path))
    return graphs
