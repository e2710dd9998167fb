"""mmprune's registries are children of mmengine's, reachable from the
mmdet, mmrotate and mmseg scopes by the ``mmprune.`` prefix."""
import importlib

import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS as ROOT_DATASETS
from mmengine.registry import DefaultScope

import mmprune  # noqa: F401
from mmprune import registry
from mmprune.datasets import ShapesCocoDataset, ShapesSegDataset
from mmprune.engine.run_config import check_mmprune_types


def test_children_of_mmengine_with_mmprune_scope():
    for name in ('MODELS', 'MODEL_WRAPPERS', 'HOOKS', 'DATASETS'):
        reg = getattr(registry, name)
        assert reg.scope == 'mmprune'
        assert reg.parent is not None and reg.parent.parent is None
    assert registry.DATASETS.parent is ROOT_DATASETS
    assert ROOT_DATASETS._children['mmprune'] is registry.DATASETS


@pytest.mark.parametrize('scope', ['mmdet', 'mmrotate', 'mmseg'])
def test_reached_from_library_scopes(scope):
    lib_datasets = importlib.import_module(f'{scope}.registry').DATASETS
    with DefaultScope.overwrite_default_scope(scope):
        assert lib_datasets.get('mmprune.ShapesCocoDataset') is \
            ShapesCocoDataset
        assert lib_datasets.get('mmprune.ShapesSegDataset') is \
            ShapesSegDataset


def test_register_all_modules_sets_scope():
    from mmprune.utils import register_all_modules
    with DefaultScope.overwrite_default_scope(None):
        register_all_modules()
        assert DefaultScope.get_current_instance().scope_name == 'mmprune'
    assert 'ShapesDOTADataset' in registry.DATASETS.module_dict


def test_unknown_type_names_the_key():
    cfg = Config(
        dict(
            model=dict(type='mmdet.RetinaNet'),
            train_dataloader=dict(dataset=dict(type='mmprune.ShapesCoco'))))
    with pytest.raises(KeyError) as e:
        check_mmprune_types(cfg)
    msg = str(e.value)
    assert 'train_dataloader.dataset.type' in msg
    assert '"mmprune.ShapesCoco"' in msg and 'ShapesCocoDataset' in msg
    # known mmprune types and other scopes pass
    check_mmprune_types(
        Config(
            dict(a=dict(type='mmprune.ShapesCocoDataset'),
                 b=dict(type='Foo'))))


def test_every_registry_can_be_searched():
    """A lookup imports a registry's locations: each must exist."""
    for name in ('MODELS', 'MODEL_WRAPPERS', 'HOOKS', 'DATASETS'):
        reg = getattr(registry, name)
        reg._imported = False
        assert reg.get('NoSuchThing') is None


def test_models_and_hooks_are_registered():
    assert 'LSKNet' in registry.MODELS.module_dict
    assert 'WeightInheritanceHook' in registry.HOOKS.module_dict
    cfg = Config(
        dict(
            model=dict(backbone=dict(type='mmprune.LSKNet')),
            custom_hooks=[
                dict(type='mmprune.WeightInheritanceHook', checkpoint='x.pth')
            ]))
    check_mmprune_types(cfg)
