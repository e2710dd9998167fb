"""Rotated detectors of mmrotate: Oriented R-CNN, rotated RetinaNet and
RTMDet, S2ANet, LSKNet models (mmdet's detector classes with an angle
parameter in their heads)."""
from mmprune.core.model_family import ModelFamily
from mmprune.registry import MODEL_FAMILIES


@MODEL_FAMILIES.register_module()
class RotatedDetectors(ModelFamily):
    scope = 'mmrotate'
    task = 'rotated'
    # built from mmdet's detector classes: recognised by their heads'
    # names, which the mmdet families share
    model_types = ()
    prediction_layers = ('conv_angle', 'rtm_ang')
