"""DETR-style detectors of mmdet: DETR, Deformable/Conditional DETR,
DINO (per-decoder-layer class and box branches)."""
from typing import ContextManager, Dict

import torch.nn as nn

from mmprune.core.model_family import ModelFamily, capped_settings
from mmprune.registry import MODEL_FAMILIES


@MODEL_FAMILIES.register_module()
class DETRDetectors(ModelFamily):
    scope = 'mmdet'
    task = 'det'
    model_types = ('DetectionTransformer', )
    prediction_layers = ('cls_branches', 'reg_branches')
    # denoising queries in runs that only trace or check the structure:
    # they pass the same decoder layers as DINO's 100 (no parameter
    # depends on their count)
    structure_dn_queries = 10

    @classmethod
    def fixed_width_layers(cls, model: nn.Module) -> Dict[str, str]:
        # Conditional and DAB-DETR's attention asserts that its values
        # keep the embedding width; the model check rolled back each of
        # their twelve value projections, one bisection each
        return {
            f'{name}.v_proj':
            'ConditionalAttention requires its '
            'values to keep the embedding width (v_dims == embed_dims)'
            for name, m in model.named_modules()
            if type(m).__name__ == 'ConditionalAttention'
            and isinstance(getattr(m, 'v_proj', None), nn.Module)
        }

    @classmethod
    def bounded_structure_runs(cls, model: nn.Module) -> ContextManager:
        return capped_settings([(getattr(model, 'dn_query_generator', None),
                                 'num_dn_queries', cls.structure_dn_queries)])
