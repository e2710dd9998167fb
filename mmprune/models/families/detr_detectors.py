"""DETR-style detectors of mmdet: DETR, Deformable/Conditional DETR,
DINO, DDQ-DETR (per-decoder-layer class and box branches)."""
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
    # matching queries in those runs, where the model picks them from the
    # encoder's output (two-stage: Deformable DETR two-stage, DDQ-DETR) and
    # no parameter holds their count (no ``query_embedding``): DDQ's 900,
    # with its 1.5x dense queries, made the decoder's self-attention most
    # of a forward
    structure_queries = 30

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
        generator = getattr(model, 'dn_query_generator', None)
        caps = [(generator, 'num_dn_queries', cls.structure_dn_queries)]
        if getattr(model, 'query_embedding', None) is None:
            # the denoising attention mask is sized for the matching count
            queries = cls.structure_queries
            caps += [(model, 'num_queries', queries),
                     (generator, 'num_matching_queries', queries)]
        return capped_settings(caps)
