"""One criterion registry: every criterion is a registered class, named the
same way by structured pruning, weight inheritance, sensitivity and
sparsity, and means the same in each."""
import pytest
import torch
import torch.nn as nn
import torch_pruning as tp
from mmengine.model import BaseModel

import mmprune  # noqa: F401  (registries, compat shims)
from mmprune.core.criteria import (CRITERIA, Criterion, build_criterion,
                                   criteria_with, criterion_names)
from mmprune.core.inheritance import inherit_weights, weight_criteria
from mmprune.core.sparsity import element_importance
from mmprune.core.structured import (PruningOptions, get_pruning_method,
                                     prune_model, pruning_method_names)


class Convs(BaseModel):
    """Stem, ``a`` and ``b`` as an mmengine model (what prune_model takes);
    the stem reads the image and is kept, ``b`` predicts."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.a = nn.Conv2d(4, width, 3, padding=1)
        self.b = nn.Conv2d(width, 4, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.b(self.a(self.stem(inputs).relu()).relu())
        return dict(loss=out.mean()) if mode == 'loss' else out


def _group(model: nn.Module, data: torch.Tensor):
    graph = tp.DependencyGraph().build_dependency(model, data)
    return graph.get_pruning_group(
        model.a,
        tp.prune_conv_out_channels,
        idxs=list(range(model.a.out_channels)))


def test_the_registry_is_an_mmengine_registry_with_short_names():
    assert CRITERIA.name == 'importance criterion'
    assert CRITERIA.scope == 'mmprune'
    assert set(criterion_names()) >= {
        'l1', 'l2', 'lamp', 'random', 'bn_scale', 'taylor', 'hessian', 'l1+l2'
    }
    # the class name and the short name build the same criterion
    assert type(build_criterion('l1')) is type(
        build_criterion(dict(type='L1')))
    mixed = build_criterion(dict(type='l1+l2', l1_weight=0.5), 'element')
    assert mixed.l1_weight == 0.5


def test_every_pruning_method_names_a_registered_criterion():
    for name in pruning_method_names():
        method = get_pruning_method(name)
        assert isinstance(method.build_criterion(), Criterion), name
        assert method.criterion in criterion_names()
    # the same criterion under one name: slimming ranks by BN scale
    assert get_pruning_method('slim').criterion == 'bn_scale'
    assert get_pruning_method('group_norm').criterion == 'l2'


@pytest.mark.parametrize('name,p', [('l1', 1), ('l2', 2)])
def test_magnitude_criteria_mean_the_same_everywhere(name, p):
    """Channel scores (Torch-Pruning's group importance), internal-group
    scores and element scores are all sums of |w|^p."""
    torch.manual_seed(0)
    model = Convs()
    criterion = build_criterion(name)
    channel = criterion.channel_importance()(
        _group(model, torch.randn(1, 3, 8, 8)))
    # the group: a's output channels and b's input channels (weights, not
    # biases), averaged over the two, divided by their mean
    a = model.a.weight.detach().flatten(1).abs().pow(p).sum(1)
    b = model.b.weight.detach().transpose(0, 1).flatten(1).abs().pow(p) \
        .sum(1)
    by_hand = (a + b) / 2
    assert torch.allclose(channel, by_hand / by_hand.mean(), rtol=1e-5)
    member = criterion.member_scores(model, [('a', 'out'), ('b', 'in')])
    assert torch.allclose(member, (a + b) / 2)
    element = criterion.element_scores(model.a.weight)
    assert torch.allclose(element, model.a.weight.detach().abs().pow(p))
    assert torch.allclose(element_importance(model.a.weight, name), element)


def test_a_criterion_without_a_use_says_which_have_it():
    with pytest.raises(
            ValueError, match="'lamp' has no element scores.*"
            'l1, l1\\+l2, l2'):
        build_criterion('lamp', 'element')
    with pytest.raises(ValueError, match="'l1\\+l2' has no channel scores"):
        PruningOptions(method='l1', importance='l1+l2', ratio=0.3)
    with pytest.raises(ValueError, match="'l3' is not a criterion; known"):
        build_criterion('l3')
    with pytest.raises(
            ValueError, match='does not rank channels from the '
            'weights alone'):
        inherit_weights(Convs(), {}, Convs(), {}, 'taylor')
    assert 'taylor' not in weight_criteria() and 'l1' in weight_criteria()
    assert set(criteria_with('element')) == {'l1', 'l2', 'l1+l2'}


def test_importance_overrides_the_method_criterion():
    """``importance`` picks another registered criterion for a method:
    the pruned channels follow it."""
    torch.manual_seed(0)
    data = torch.randn(1, 3, 8, 8)
    model = Convs(16)
    with torch.no_grad():  # L1 and L2 disagree on channel 0 and 1
        model.a.weight[0] = 0.2  # many small weights: large L1, small L2
        model.a.weight[1] = 0.0
        model.a.weight[1, 0, 0, 0] = 1.2  # one large weight
        model.b.weight[:, :2] = 0.0
        model.a.bias[:2] = 0.0
    kept = {}
    for importance in ('l1', 'l2'):
        m = Convs(16)
        m.load_state_dict(model.state_dict())
        opts = PruningOptions(
            method='l1',
            importance=importance,
            ratio=15 / 16,
            round_to=None,
            protected=['^b$'])
        result = prune_model(m, dict(inputs=data, data_samples=None), opts)
        assert m.a.out_channels == 1, result.skipped
        kept[importance] = m.a.weight[0, 0, 0, 0].item()
    assert kept['l1'] == pytest.approx(0.2)  # 27 * 0.2 = 5.4 > 1.2
    assert kept['l2'] == pytest.approx(1.2)  # 1.44 > 27 * 0.04 = 1.08


def test_a_method_registered_by_a_user_is_a_name_like_the_others():
    from mmprune.core.structured import PruningMethod, register_pruning_method
    from mmprune.registry import PRUNING_METHODS

    @register_pruning_method
    class MyPruning(PruningMethod):
        name, criterion = 'my_l2', 'l2'

    try:
        assert 'my_l2' in pruning_method_names()
        assert isinstance(get_pruning_method('my_l2'), MyPruning)
        PruningOptions(method='my_l2', ratio=0.3).validate()
        with pytest.raises(KeyError, match='already registered'):
            register_pruning_method(MyPruning)
    finally:
        PRUNING_METHODS.module_dict.pop('my_l2')
    with pytest.raises(ValueError, match="unknown pruning method 'my_l2'"):
        get_pruning_method('my_l2')
