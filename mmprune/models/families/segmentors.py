"""Semantic segmentors of mmseg: encoder-decoders (SegFormer, PSPNet,
DeepLabV3+, ...) and their auxiliary heads."""
from mmprune.core.model_family import ModelFamily
from mmprune.registry import MODEL_FAMILIES


@MODEL_FAMILIES.register_module()
class Segmentors(ModelFamily):
    scope = 'mmseg'
    task = 'seg'
    model_types = ('BaseSegmentor', )
    prediction_layers = ('conv_seg', )
