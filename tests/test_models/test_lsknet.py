"""LSKNet: published widths, parameter counts, key names, output shapes."""
import pytest
import torch

from mmprune.models import LSKNet

LSK_T = dict(embed_dims=[32, 64, 160, 256], depths=[3, 3, 5, 2])
LSK_S = dict(embed_dims=[64, 128, 320, 512], depths=[2, 2, 4, 2])


@pytest.mark.parametrize('arch,params', [(LSK_T, 3.99), (LSK_S, 13.84)])
def test_lsknet_published_sizes_and_shapes(arch, params):
    net = LSKNet(**arch)
    net.init_weights()
    # the published backbones: T 3.99M, S 13.84M parameters
    assert round(sum(p.numel() for p in net.parameters()) / 1e6, 2) == params
    outs = net(torch.randn(2, 3, 96, 128))
    dims = arch['embed_dims']
    assert [tuple(o.shape) for o in outs] == [(2, dims[0], 24, 32),
                                              (2, dims[1], 12, 16),
                                              (2, dims[2], 6, 8),
                                              (2, dims[3], 3, 4)]


def test_lsknet_key_names_follow_the_published_model():
    keys = set(LSKNet(**LSK_T).state_dict())
    for i in range(1, 5):
        assert f'patch_embed{i}.proj.weight' in keys
        assert f'patch_embed{i}.norm.running_var' in keys
        assert f'norm{i}.weight' in keys
    block = 'block3.4.'
    for part in ('norm1.weight', 'attn.proj_1.weight',
                 'attn.spatial_gating_unit.conv0.weight',
                 'attn.spatial_gating_unit.conv_spatial.weight',
                 'attn.spatial_gating_unit.conv1.weight',
                 'attn.spatial_gating_unit.conv2.weight',
                 'attn.spatial_gating_unit.conv_squeeze.weight',
                 'attn.spatial_gating_unit.conv.weight', 'attn.proj_2.weight',
                 'norm2.weight', 'mlp.fc1.weight', 'mlp.dwconv.dwconv.weight',
                 'mlp.fc2.weight', 'layer_scale_1', 'layer_scale_2'):
        assert block + part in keys, part
    assert 'block3.5.norm1.weight' not in keys  # LSK-T stage 3 has 5 blocks


def test_lsknet_widths_are_config_fields():
    net = LSKNet(
        embed_dims=[16, 32, 48, 64],
        depths=[1, 1, 1, 1],
        mlp_ratios=[3, 3, 2, 2],
        lsk_split_dims=[8, 16, 16, 21])
    sgu = net.block4[0].attn.spatial_gating_unit
    assert sgu.conv1.out_channels == 21 and sgu.conv.in_channels == 21
    assert net.block1[0].mlp.fc1.out_channels == 48
    assert [o.shape[1] for o in net(torch.randn(1, 3, 64, 64))] == \
        [16, 32, 48, 64]


def test_lsknet_per_stage_lists_must_match():
    with pytest.raises(ValueError, match='mlp_ratios has 3 entries'):
        LSKNet(mlp_ratios=[8, 8, 4])
