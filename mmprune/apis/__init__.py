"""What a user calls from Python, on top of every other layer: build a
model from its config, prune it, inherit weights into a slimmer config,
rebuild and export a pruned checkpoint. Nothing in the package imports
this module."""
from mmprune.core.criteria import build_criterion
from mmprune.core.inheritance import inherit_weights
from mmprune.core.structured import PruningOptions, prune_model
from mmprune.datasets.train_batches import (batches_or_synthetic,
                                            tracing_batch, train_batches)
from mmprune.deployment import export_onnx, load_deployable_model
from mmprune.engine.inheritance_from_checkpoint import inherit_from_checkpoint
from mmprune.models.builder import build_model_from

__all__ = [
    'PruningOptions', 'batches_or_synthetic', 'build_criterion',
    'build_model_from', 'export_onnx', 'inherit_from_checkpoint',
    'inherit_weights', 'load_deployable_model', 'prune_model', 'tracing_batch',
    'train_batches'
]
