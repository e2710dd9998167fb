"""mmprune's registries: each extension point is an mmengine ``Registry``.

Those for what OpenMMLab configs build (models, hooks, datasets) are
children of mmengine's root registries, searched from a parent scope too:
configs whose ``default_scope`` is mmdet, mmrotate or mmseg reach
mmprune's modules as ``mmprune.<Type>``, and mmprune's own scope finds
everything registered in mmengine. Those with no mmengine counterpart
(criteria, pruning methods, layer pruners, model families, shapes writers)
are mmengine registries all the same. ``locations`` name the package that
fills a registry (imported on first lookup). Only registries something
fills are declared: a loop, metric or transform of mmprune would add its
registry here.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    locations=['mmprune.models'],
    scope='mmprune')
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='mmprune')
HOOKS = Registry(
    'hook',
    parent=MMENGINE_HOOKS,
    locations=['mmprune.engine'],
    scope='mmprune')
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    locations=['mmprune.datasets'],
    scope='mmprune')
# mmengine has no root registry of importance criteria to be a child of;
# this one is an mmengine Registry all the same (build, scopes, locations)
CRITERIA = Registry(
    'importance criterion',
    locations=['mmprune.core.criteria'],
    scope='mmprune')
# what mmprune knows of each family of OpenMMLab models (prediction layers,
# shared RoI extractor, coupled config widths, task), one class per file in
# mmprune/models/families
MODEL_FAMILIES = Registry(
    'model family', locations=['mmprune.models.families'], scope='mmprune')
# structured pruning methods by name (mmprune/core/structured/methods.py)
PRUNING_METHODS = Registry(
    'pruning method',
    locations=['mmprune.core.structured.methods'],
    scope='mmprune')
# the pruner of each layer class Torch-Pruning cannot trace through, under
# the class's name (mmprune/models/pruning_support; the core looks them up)
LAYER_PRUNERS = Registry('layer pruner', scope='mmprune')
# the shapes dataset's on-disk formats (mmprune/datasets/shapes/writers.py)
SHAPES_WRITERS = Registry(
    'shapes writer',
    locations=['mmprune.datasets.shapes.writers'],
    scope='mmprune')
