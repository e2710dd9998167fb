"""Two-stage detectors of mmdet: Faster/Mask/Cascade R-CNN, HTC, Double
Heads and the like (an RPN, then RoI heads on pooled features)."""
from mmprune.core.model_family import ModelFamily
from mmprune.registry import MODEL_FAMILIES


@MODEL_FAMILIES.register_module()
class TwoStageDetectors(ModelFamily):
    scope = 'mmdet'
    task = 'det'
    model_types = ('TwoStageDetector', )
    prediction_layers = ('rpn_cls', 'rpn_reg', 'fc_cls', 'fc_reg',
                         'conv_logits')
    roi_extractor = 'roi_head.bbox_roi_extractor'
    coupled_width_keys = ('rpn_head.in_channels',
                          'roi_head.bbox_roi_extractor.out_channels',
                          'roi_head.bbox_head.in_channels')
