"""DETR-style detectors of mmdet: DETR, Deformable/Conditional DETR,
DINO (per-decoder-layer class and box branches)."""
from mmprune.core.model_family import ModelFamily
from mmprune.registry import MODEL_FAMILIES


@MODEL_FAMILIES.register_module()
class DETRDetectors(ModelFamily):
    scope = 'mmdet'
    task = 'det'
    model_types = ('DetectionTransformer', )
    prediction_layers = ('cls_branches', 'reg_branches')
