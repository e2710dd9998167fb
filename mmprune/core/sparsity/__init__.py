"""Unstructured (element) sparsity: which weights, how many, masks that
stay, and checkpoints that shrink. Knows torch only, not the runner."""
from .compressed_checkpoint import (compress_checkpoint, compress_tensor,
                                    decompress_checkpoint, decompress_tensor,
                                    is_compressed_checkpoint, tensor_identity)
from .masks import (SPARSITY_SCOPES, apply_masks, check_masks_fit,
                    compute_masks, element_importance, semi_structured_mask,
                    sparsity_criterion)
from .plan import (SparsityPlan, SparsityTarget, normalize_ratios,
                   resolve_sparsity_plan)
from .report import sparsity_statistics, summary_lines
from .schedule import cubic_sparsity_fraction, is_sparsity_step

__all__ = [
    'SPARSITY_SCOPES', 'SparsityPlan', 'SparsityTarget', 'apply_masks',
    'check_masks_fit', 'compress_checkpoint', 'compress_tensor',
    'compute_masks', 'cubic_sparsity_fraction', 'decompress_checkpoint',
    'decompress_tensor', 'element_importance', 'is_compressed_checkpoint',
    'is_sparsity_step', 'normalize_ratios', 'resolve_sparsity_plan',
    'semi_structured_mask', 'sparsity_criterion', 'sparsity_statistics',
    'summary_lines', 'tensor_identity'
]
