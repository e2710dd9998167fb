"""Two-stage detectors of mmdet: Faster/Mask/Cascade R-CNN, HTC, Double
Heads and the like (an RPN, then RoI heads on pooled features)."""
from typing import ContextManager

import torch.nn as nn

from mmprune.core.model_family import ModelFamily, capped_settings
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
    # RoIs and detections per image in runs that only trace or check the
    # structure: the RoI heads are the same layers on 64 RoIs as on the
    # configs' 1000 proposals (512 sampled in training), which made the
    # unpruned Double Heads' check alone take 36 s and 4.3 GB at 128 px;
    # PointRend refines the mask of every one of its 100 detections (15 s
    # and 5.7 GB in the check of a pruned random-init model)
    structure_rois = 64
    structure_detections = 16

    @classmethod
    def bounded_structure_runs(cls, model: nn.Module) -> ContextManager:
        train_cfg = getattr(model, 'train_cfg', None) or {}
        rpn_test_cfg = getattr(
            getattr(model, 'rpn_head', None), 'test_cfg', None)
        roi_head = getattr(model, 'roi_head', None)
        samplers = getattr(roi_head, 'bbox_sampler', None)
        n = cls.structure_rois
        return capped_settings(
            [(holder, key, n)
             for holder in (train_cfg.get('rpn_proposal'), rpn_test_cfg)
             for key in ('nms_pre', 'max_per_img')] +
            [(sampler, 'num', n) for sampler in
             (samplers if isinstance(samplers, list) else [samplers])] +
            [(getattr(roi_head, 'test_cfg', None), 'max_per_img',
              cls.structure_detections)])
