"""LSKNet (Li et al., ICCV 2023), written from the published architecture
facts (``notes/lsknet.md``), with every width a config field.

State-dict key names and shapes follow the published model
(``patch_embed{i}``, ``block{i}.{j}.attn.spatial_gating_unit.conv0`` ...,
``norm{i}``), so published LSKNet checkpoints load through ``init_cfg``.
"""
import math
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule

from mmprune.registry import MODELS


class LSKModule(nn.Module):
    """The large selective kernel: two depthwise kernels (5x5, then 7x7
    dilated by 3), each narrowed to ``split_dim`` channels by a 1x1 conv,
    mixed by two spatial gates computed from their channel mean and max.

    ``split_dim`` is dim // 2 in the published model; slimmed configs may
    narrow it (slimming plan C uses dim // 3 in the last two stages).
    """

    def __init__(self, dim: int, split_dim: Optional[int] = None) -> None:
        super().__init__()
        split_dim = dim // 2 if split_dim is None else split_dim
        self.conv0 = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        self.conv_spatial = nn.Conv2d(
            dim, dim, 7, stride=1, padding=9, groups=dim, dilation=3)
        self.conv1 = nn.Conv2d(dim, split_dim, 1)
        self.conv2 = nn.Conv2d(dim, split_dim, 1)
        self.conv_squeeze = nn.Conv2d(2, 2, 7, padding=3)
        self.conv = nn.Conv2d(split_dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.conv0(x)
        b = self.conv_spatial(a)
        a1 = self.conv1(a)
        b1 = self.conv2(b)
        both = torch.cat([a1, b1], dim=1)
        avg = torch.mean(both, dim=1, keepdim=True)
        mx, _ = torch.max(both, dim=1, keepdim=True)
        gates = self.conv_squeeze(torch.cat([avg, mx], dim=1)).sigmoid()
        attn = a1 * gates[:, 0:1] + b1 * gates[:, 1:2]
        return x * self.conv(attn)


class LSKAttention(nn.Module):
    """proj_1 -> GELU -> LSK module -> proj_2, plus the input."""

    def __init__(self, dim: int, split_dim: Optional[int] = None) -> None:
        super().__init__()
        self.proj_1 = nn.Conv2d(dim, dim, 1)
        self.activation = nn.GELU()
        self.spatial_gating_unit = LSKModule(dim, split_dim)
        self.proj_2 = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.proj_2(
            self.spatial_gating_unit(self.activation(self.proj_1(x))))
        return x + shortcut


class DWConv(nn.Module):
    """3x3 depthwise conv with bias (key ``dwconv.dwconv``, as published)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, bias=True, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dwconv(x)


class LSKMlp(nn.Module):
    """1x1 conv -> 3x3 depthwise conv -> GELU -> dropout -> 1x1 conv."""

    def __init__(self, dim: int, hidden_dim: int, drop: float = 0.) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden_dim, 1)
        self.dwconv = DWConv(hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden_dim, dim, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.dwconv(self.fc1(x))))
        return self.drop(self.fc2(x))


class LSKBlock(nn.Module):
    """x + scale_1 * attn(norm1(x)), then x + scale_2 * mlp(norm2(x))."""

    def __init__(self,
                 dim: int,
                 hidden_dim: int,
                 split_dim: Optional[int] = None,
                 drop: float = 0.,
                 drop_path: float = 0.,
                 layer_scale_init: float = 1e-2,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN', requires_grad=True)
        self.norm1 = build_norm_layer(norm_cfg, dim)[1]
        self.attn = LSKAttention(dim, split_dim)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else \
            nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, dim)[1]
        self.mlp = LSKMlp(dim, hidden_dim, drop)
        self.layer_scale_1 = nn.Parameter(layer_scale_init * torch.ones(dim))
        self.layer_scale_2 = nn.Parameter(layer_scale_init * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(
            self.layer_scale_1[None, :, None, None] * self.attn(self.norm1(x)))
        x = x + self.drop_path(
            self.layer_scale_2[None, :, None, None] * self.mlp(self.norm2(x)))
        return x


class OverlapPatchEmbed(nn.Module):
    """Strided conv (padding k // 2) followed by a norm."""

    def __init__(self,
                 in_channels: int,
                 embed_dim: int,
                 patch_size: int,
                 stride: int,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN', requires_grad=True)
        self.proj = nn.Conv2d(
            in_channels,
            embed_dim,
            patch_size,
            stride,
            padding=patch_size // 2)
        self.norm = build_norm_layer(norm_cfg, embed_dim)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x))


@MODELS.register_module()
class LSKNet(BaseModule):
    """LSKNet backbone: four stages of overlapping patch embedding, LSK
    blocks and a channel LayerNorm, with outputs at strides 4/8/16/32.

    Args:
        in_channels: input image channels.
        embed_dims: stage widths; LSK-T [32, 64, 160, 256], LSK-S
            [64, 128, 320, 512].
        mlp_ratios: MLP hidden width / stage width, per stage; the hidden
            width is ``int(embed_dim * ratio)`` unless ``mlp_hidden_dims``
            gives it.
        depths: blocks per stage; LSK-T [3, 3, 5, 2], LSK-S [2, 2, 4, 2].
        lsk_split_dims: the LSK module's split width per stage (the outputs
            of its ``conv1``/``conv2``); None means ``embed_dim // 2``,
            as published.
        mlp_hidden_dims: explicit MLP hidden widths per stage (overrides
            ``mlp_ratios``), for slimmed models whose widths are no ratio.
        drop_rate: dropout in the MLPs.
        drop_path_rate: stochastic depth, linearly increasing over blocks.
        out_indices: the stages whose outputs are returned.
        norm_cfg: the norm of the patch embeddings and blocks (BN; SyncBN
            in the published configs).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=...)`` to load a
            published LSKNet checkpoint.
    """

    def __init__(self,
                 in_channels: int = 3,
                 embed_dims: Sequence[int] = (64, 128, 320, 512),
                 mlp_ratios: Sequence[float] = (8, 8, 4, 4),
                 depths: Sequence[int] = (2, 2, 4, 2),
                 lsk_split_dims: Optional[Sequence[Optional[int]]] = None,
                 mlp_hidden_dims: Optional[Sequence[int]] = None,
                 drop_rate: float = 0.1,
                 drop_path_rate: float = 0.1,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        num_stages = len(embed_dims)
        per_stage = dict(
            mlp_ratios=mlp_ratios,
            depths=depths,
            lsk_split_dims=lsk_split_dims,
            mlp_hidden_dims=mlp_hidden_dims)
        for name, value in per_stage.items():
            if value is not None and len(value) != num_stages:
                raise ValueError(
                    f'LSKNet: {name} has {len(value)} entries, embed_dims '
                    f'has {num_stages}: give one per stage')
        self.embed_dims = list(embed_dims)
        self.depths = list(depths)
        self.out_indices = tuple(out_indices)
        self.num_stages = num_stages
        split_dims = list(lsk_split_dims or [None] * num_stages)
        hidden_dims = list(mlp_hidden_dims) if mlp_hidden_dims else [
            int(d * r) for d, r in zip(embed_dims, mlp_ratios)
        ]
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        cur = 0
        for i in range(num_stages):
            patch_embed = OverlapPatchEmbed(
                in_channels if i == 0 else embed_dims[i - 1],
                embed_dims[i],
                patch_size=7 if i == 0 else 3,
                stride=4 if i == 0 else 2,
                norm_cfg=norm_cfg)
            blocks = nn.ModuleList([
                LSKBlock(
                    embed_dims[i],
                    hidden_dims[i],
                    split_dims[i],
                    drop=drop_rate,
                    drop_path=dpr[cur + j],
                    norm_cfg=norm_cfg) for j in range(depths[i])
            ])
            cur += depths[i]
            # published names: patch_embed1..4, block1..4, norm1..4
            setattr(self, f'patch_embed{i + 1}', patch_embed)
            setattr(self, f'block{i + 1}', blocks)
            setattr(self, f'norm{i + 1}',
                    nn.LayerNorm(embed_dims[i], eps=1e-6))

    def init_weights(self) -> None:
        if self.init_cfg is not None:
            super().init_weights()
            return
        # the published initialisation: truncated normal for linear
        # layers, fan-out normal for convs, unit norms
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * \
                    m.out_channels // m.groups
                nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        outs = []
        for i in range(self.num_stages):
            x = getattr(self, f'patch_embed{i + 1}')(x)
            for block in getattr(self, f'block{i + 1}'):
                x = block(x)
            # LayerNorm over channels, then back to NCHW
            x = getattr(self, f'norm{i + 1}')(x.permute(0, 2, 3, 1))
            x = x.permute(0, 3, 1, 2).contiguous()
            if i in self.out_indices:
                outs.append(x)
        return outs
