"""One-stage (dense) detectors of mmdet: RetinaNet, FCOS, ATSS, GFL,
YOLOX, RTMDet, CenterNet, TOOD and the like."""
from mmprune.core.model_family import ModelFamily
from mmprune.registry import MODEL_FAMILIES


@MODEL_FAMILIES.register_module()
class DenseDetectors(ModelFamily):
    scope = 'mmdet'
    task = 'det'
    model_types = ('SingleStageDetector', )
    prediction_layers = ('conv_cls', 'conv_reg', 'conv_obj', 'conv_centerness',
                         'retina_cls', 'retina_reg', 'atss_cls', 'atss_reg',
                         'atss_centerness', 'gfl_cls', 'gfl_reg', 'rtm_cls',
                         'rtm_reg', 'rtm_obj', 'multi_level_conv_cls',
                         'multi_level_conv_reg', 'multi_level_conv_obj')
    coupled_width_keys = ('bbox_head.in_channels', )
