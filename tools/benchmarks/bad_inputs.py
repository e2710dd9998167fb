"""Bad inputs a user can give the tools and hooks, run one by one on a tiny
RTMDet config, each classified by what happened:

- ``clear error before work``: an error whose message holds the expected
  fragment (it names the option, file or layer at fault), raised within
  ``BEFORE_WORK_S`` seconds, with nothing written;
- ``clear error after work``: the same, but only after longer;
- ``unclear error``: an error that does not say what the mistake was;
- ``accepted``: the tool finished as if nothing were wrong;

and, for every case, whether it wrote a checkpoint, report, plot or
prediction file.

    python tools/benchmarks/bad_inputs.py [--only NAME ...]

``tests/test_bad_inputs.py`` runs the same cases. Tools run in this process
(as ``python tools/X.py ARGS`` would, through ``runpy``) so that the suite
pays the import cost once.
"""
import contextlib
import io
import os
import os.path as osp
import runpy
import shutil
import string
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from mmprune.utils.cli import tool_parser

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BEFORE_WORK_S = 10.0
# what a run writes when it does work (logs are diagnostics, not results)
RESULT_SUFFIXES = ('.pth', '.pkl', '.png', 'results.json', 'inheritance.json')

TINY = '''_base_ = '$repo/configs/rtmdet/rtmdet_tiny_12e_shapes.py'
shapes_tiny = dict(img_size=128, min_object_size=16, max_object_size=48,
                   max_objects=3)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(shapes=dict(shapes_tiny, num_images=4)))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(shapes=dict(shapes_tiny, num_images=2)))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
'''


@dataclass
class Case:
    name: str
    # the tool, relative to the repository, and its arguments; $names are
    # the fixture files (see make_fixtures) and $work a fresh folder
    tool: str
    args: List[str]
    # a fragment the error message must hold
    expect: str
    # config text written to $case_cfg (inherits the tiny config)
    config: str = ''
    # one of KINDS: a kind that must be refused before any work
    kind: str = ''


# the kinds of input that must be refused before any work (within
# BEFORE_WORK_S), for every tool that takes them
KINDS = ('non-finite number', 'nothing to prune', 'broken weights',
         'output location', 'input size')


def _hook(options: str) -> str:
    return ("custom_hooks = [dict(type='mmprune.StructuredPruningHook', "
            f'{options})]\n')


PRUNE = 'tools/prune.py'
TEST = 'tools/test.py'
TRAIN = 'tools/train.py'
BREAKDOWN = 'tools/analysis_tools/param_breakdown.py'
INHERIT = 'tools/inherit_weights.py'
COMPRESS = 'tools/model_converters/compress_sparse_checkpoint.py'
EXPORT = 'tools/deployment/export_onnx.py'
SENSITIVITY = 'tools/analysis_tools/prune_sensitivity.py'
LATENCY = 'tools/analysis_tools/latency_breakdown.py'
P = ['$cfg', '$ckpt', '--out', '$work/out']

CASES: List[Case] = [
    # -- tools/prune.py: options --------------------------------------------
    Case(
        'prune: speed-up out of reach, strict', PRUNE, P + [
            '--speed-up', '1000', '--strict-target', '--synthetic-batch',
            '--input-shape', '64', '64'
        ], 'was not reached'),
    Case(
        'prune: gradient criterion, 0 batches', PRUNE, P + [
            '--method', 'group_taylor', '--ratio', '0.3', '--gradient-batches',
            '0'
        ], 'gradient_batches = 0'),
    Case(
        'prune: gradient criterion on a synthetic batch', PRUNE, P +
        ['--method', 'group_hessian', '--ratio', '0.3', '--synthetic-batch'],
        'ranks channels by the loss on real training data'),
    Case('prune: round-to 0', PRUNE, P + ['--ratio', '0.3', '--round-to', '0'],
         'round_to = 0'),
    Case('prune: round-to -8', PRUNE,
         P + ['--ratio', '0.3', '--round-to', '-8'], 'round_to = -8'),
    Case('prune: round-to neither a number nor measured', PRUNE,
         P + ['--ratio', '0.3', '--round-to', 'fast'],
         "round_to = 'fast': must be an integer >= 1, 'measured'"),
    Case('prune: max-layer-ratio 1.5', PRUNE,
         P + ['--ratio', '0.3', '--max-layer-ratio', '1.5'],
         'max_layer_ratio = 1.5'),
    Case('prune: max-steps 0', PRUNE,
         P + ['--speed-up', '2', '--max-steps', '0'], 'max_steps = 0'),
    Case('prune: ratio 1.0', PRUNE, P + ['--ratio', '1.0'], 'ratio = 1.0'),
    Case('prune: ratio nan', PRUNE, P + ['--ratio', 'nan'], 'ratio = nan'),
    Case('prune: ratio and speed-up together', PRUNE,
         P + ['--ratio', '0.3', '--speed-up', '2'], 'not allowed'),
    Case('prune: speed-up 0.5', PRUNE, P + ['--speed-up', '0.5'],
         'speed_up = 0.5'),
    Case(
        'prune: no target', PRUNE, P, 'one of the arguments --ratio '
        '--speed-up --latency-speed-up is required'),
    Case('prune: latency-speed-up 0.5', PRUNE,
         P + ['--latency-speed-up', '0.5'], 'latency_speed_up = 0.5'),
    Case('export: --out not .onnx', EXPORT,
         ['$cfg', '$ckpt', '--out', '$work/model.pth'], 'must end with .onnx'),
    Case('export: missing checkpoint', EXPORT,
         ['$cfg', '$work/none.pth', '--out', '$work/model.onnx'], 'none.pth'),
    Case('prune: unknown method', PRUNE,
         P + ['--method', 'l2', '--ratio', '0.3'], "invalid choice: 'l2'"),
    Case('prune: ignored pattern matches nothing', PRUNE,
         P + ['--ratio', '0.3', '--ignored', 'no_such_layer'],
         "ignored: pattern 'no_such_layer' matches no module"),
    Case('prune: ignored pattern is no regex', PRUNE,
         P + ['--ratio', '0.3', '--ignored', 'stage[1'],
         'not a valid regular expression'),
    Case('prune: input shape 0 0', PRUNE,
         P + ['--ratio', '0.3', '--input-shape', '0', '0'],
         'H and W must be positive'),
    Case('prune: output over its source', PRUNE,
         ['$cfg', '$ckpt_in_dir', '--ratio', '0.3', '--out', '$ckpt_dir'],
         'would overwrite the source checkpoint'),
    # -- tools/prune.py: files ----------------------------------------------
    Case('prune: config missing', PRUNE,
         ['$work/none.py', '$ckpt', '--ratio', '0.3'],
         'none.py" does not exist'),
    Case('prune: config with a syntax error', PRUNE,
         ['$bad_syntax_cfg', '$ckpt', '--ratio', '0.3'],
         'bad_syntax.py", line 2'),
    Case('prune: config whose base is missing', PRUNE,
         ['$missing_base_cfg', '$ckpt', '--ratio', '0.3'],
         '_base_ "no_such_base.py" does not exist'),
    Case('prune: checkpoint missing', PRUNE,
         ['$cfg', '$work/none.pth', '--ratio', '0.3'],
         'none.pth" does not exist'),
    Case('prune: checkpoint is a folder', PRUNE,
         ['$cfg', '$work', '--ratio', '0.3', '--out', '$work/out'],
         'is a folder'),
    Case('prune: checkpoint empty', PRUNE,
         ['$cfg', '$empty_ckpt', '--ratio', '0.3'], 'is empty (0 bytes)'),
    Case('prune: checkpoint truncated', PRUNE,
         ['$cfg', '$truncated_ckpt', '--ratio', '0.3'],
         'truncated.pth" is truncated or corrupt'),
    Case('prune: checkpoint is text', PRUNE,
         ['$cfg', '$text_ckpt', '--ratio', '0.3'], 'is a text file'),
    Case('prune: checkpoint is not a state dict', PRUNE,
         ['$cfg', '$list_ckpt', '--ratio', '0.3'], 'is not a checkpoint'),
    Case('prune: checkpoint with code in it', PRUNE,
         ['$cfg', '$unsafe_ckpt', '--ratio', '0.3'],
         'refused by safe loading'),
    Case('prune: checkpoint of another architecture', PRUNE,
         ['$cfg', '$other_arch_ckpt', '--ratio', '0.3'],
         'does not fit the model of config'),
    # -- tools/test.py ------------------------------------------------------
    Case('test: checkpoint of another width, no pruned structure', TEST,
         ['$cfg', '$other_width_ckpt', '--work-dir', '$work'],
         'differ in shape (first "backbone.stem.1.conv.weight"'),
    Case('test: checkpoint truncated', TEST,
         ['$cfg', '$truncated_ckpt', '--work-dir', '$work'],
         'is truncated or corrupt'),
    Case('test: checkpoint missing', TEST,
         ['$cfg', '$work/none.pth', '--work-dir', '$work'],
         'checkpoint not found: $work/none.pth'),
    Case('test: config with a syntax error', TEST,
         ['$bad_syntax_cfg', '$ckpt', '--work-dir', '$work'],
         'bad_syntax.py", line 2'),
    Case('test: --out not a pickle', TEST,
         ['$cfg', '$ckpt', '--work-dir', '$work', '--out', '$work/p.txt'],
         '--out must be a .pkl file'),
    # -- tools/train.py: hooks and models -----------------------------------
    Case('train: pruning ratio 1.5', TRAIN,
         ['$case_cfg', '--work-dir', '$work'], 'ratio = 1.5',
         _hook("method='l1', ratio=1.5")),
    Case('train: pruning option misspelt', TRAIN,
         ['$case_cfg', '--work-dir', '$work'], "unknown option(s) ['ratios']",
         _hook("method='l1', ratios=0.5")),
    Case('train: gradient criterion, 0 batches', TRAIN,
         ['$case_cfg', '--work-dir', '$work'], 'gradient_batches = 0',
         _hook("method='group_taylor', ratio=0.3, gradient_batches=0")),
    Case(
        'train: sensitivity allocation over two prune points', TRAIN,
        ['$case_cfg', '--work-dir', '$work'],
        'the ratios are chosen for one prune point',
        _hook("method='l1', speed_up=2.0, allocation='sensitivity', "
              'prune_at=[0, 2]')),
    Case('prune: sensitivity allocation with a ratio', PRUNE, P +
         ['--ratio', '0.3', '--allocation', 'sensitivity'], 'give speed_up'),
    Case('sensitivity: ratio 1.5', 'tools/analysis_tools/prune_sensitivity.py',
         [
             '$cfg', '$ckpt', '--sensitivity-ratios', '0.5', '1.5', '--out',
             '$work/out'
         ], '--sensitivity-ratios [0.5, 1.5]'),
    Case('train: prune_at decreasing', TRAIN,
         ['$case_cfg', '--work-dir', '$work'], 'prune_at = [4, 2]',
         _hook("method='l1', ratio=0.3, prune_at=[4, 2]")),
    Case('train: hook input_shape 0 0', TRAIN,
         ['$case_cfg', '--work-dir', '$work'], 'input_shape = (0, 0)',
         _hook("method='l1', ratio=0.3, input_shape=(0, 0)")),
    Case('train: ignored pattern matches nothing', TRAIN,
         ['$case_cfg', '--work-dir', '$work'],
         "ignored: pattern 'nekc' matches no module",
         _hook("method='l1', ratio=0.3, ignored=['nekc']")),
    Case('train: load_from missing', TRAIN,
         ['$case_cfg', '--work-dir', '$work'], 'none.pth" does not exist',
         "load_from = '$work/none.pth'\n"),
    Case('train: load_from empty', TRAIN, ['$case_cfg', '--work-dir', '$work'],
         'is empty (0 bytes)', "load_from = '$empty_ckpt'\n"),
    Case(
        'train: distiller teacher checkpoint of another architecture', TRAIN,
        ['$case_cfg', '--work-dir', '$work'],
        'teacher_checkpoint "$other_arch_ckpt" does not fit teacher_config',
        '''model = dict(_delete_=True, type='mmprune.Distiller',
    student={{_base_.model}}, teacher_config='$cfg',
    teacher_checkpoint='$other_arch_ckpt',
    distill_losses=dict(neck=dict(type='mmprune.FeatureMSELoss',
                                  student='neck', teacher='neck')))
'''),
    Case(
        'train: distiller teacher config with a syntax error', TRAIN,
        ['$case_cfg', '--work-dir', '$work'], 'bad_syntax.py", line 2',
        '''model = dict(_delete_=True, type='mmprune.Distiller',
    student={{_base_.model}}, teacher_config='$bad_syntax_cfg',
    teacher_checkpoint='$ckpt',
    distill_losses=dict(neck=dict(type='mmprune.FeatureMSELoss',
                                  student='neck', teacher='neck')))
'''),
    Case(
        'train: weight inheritance from another architecture', TRAIN,
        ['$case_cfg', '--work-dir', '$work'], 'does not fit its source model',
        "custom_hooks = [dict(type='mmprune.WeightInheritanceHook', "
        "checkpoint='$other_arch_ckpt', source_config='$cfg')]\n"),
    Case(
        'train: weight inheritance checkpoint truncated', TRAIN,
        ['$case_cfg', '--work-dir', '$work'], 'is truncated or corrupt',
        "custom_hooks = [dict(type='mmprune.WeightInheritanceHook', "
        "checkpoint='$truncated_ckpt', source_config='$cfg')]\n"),
    # -- analysis and conversion tools --------------------------------------
    Case('param_breakdown: input shape 0 0', BREAKDOWN,
         ['$cfg', '--input-shape', '0', '0'], 'H and W must be positive'),
    Case(
        'param_breakdown: input shape smaller than the stride',
        BREAKDOWN, ['$cfg', '--input-shape', '4', '4'],
        '--input-shape 4 4: smaller than the model',
        kind='input size'),
    Case('param_breakdown: depth 0', BREAKDOWN, ['$cfg', '--depth', '0'],
         '--depth 0: must be >= 1'),
    Case('param_breakdown: compare config missing', BREAKDOWN,
         ['$cfg', '--compare', '$work/none.py'],
         '--compare config "$work/none.py" does not exist'),
    Case('inherit_weights: output over its source', INHERIT,
         ['$cfg', '$ckpt', '--out', '$ckpt'], 'never overwritten'),
    Case('inherit_weights: checkpoint empty', INHERIT,
         ['$cfg', '$empty_ckpt', '--out', '$work/x.pth'],
         'is empty (0 bytes)'),
    Case('compress: checkpoint truncated', COMPRESS,
         ['$truncated_ckpt', '$work/x.pth'], 'is truncated or corrupt'),
    Case('compress: output over its source', COMPRESS, ['$ckpt', '$ckpt'],
         'refusing to overwrite the source'),
] + [
    # -- non-finite numbers -------------------------------------------------
    Case(
        'prune: speed-up inf',
        PRUNE,
        P + ['--speed-up', 'inf'],
        'speed_up = inf: must be > 1 and finite',
        kind=KINDS[0]),
    Case(
        'prune: latency-speed-up inf',
        PRUNE,
        P + ['--latency-speed-up', 'inf'],
        'latency_speed_up = inf: must be > 1 and finite',
        kind=KINDS[0]),
    Case(
        'prune: max-layer-ratio nan',
        PRUNE,
        P + ['--ratio', '0.3', '--max-layer-ratio', 'nan'],
        'max_layer_ratio = nan',
        kind=KINDS[0]),
    Case(
        'prune: sensitivity ratio inf',
        PRUNE,
        P + [
            '--speed-up', '2', '--allocation', 'sensitivity',
            '--sensitivity-ratios', '0.5', 'inf'
        ],
        'sensitivity_ratios = [0.5, inf]',
        kind=KINDS[0]),
    Case(
        'sensitivity: speed-up inf',
        SENSITIVITY,
        ['$cfg', '$ckpt', '--speed-up', 'inf', '--out', '$work/out'],
        '--speed-up inf: a FLOPs reduction factor',
        kind=KINDS[0]),
    Case(
        'sensitivity: ratio nan',
        SENSITIVITY,
        ['$cfg', '$ckpt', '--sensitivity-ratios', 'nan', '--out', '$work/out'],
        '--sensitivity-ratios [nan]',
        kind=KINDS[0]),
    Case(
        'export: threads -1',
        EXPORT, ['$cfg', '$ckpt', '--out', '$work/m.onnx', '--threads', '-1'],
        '--threads -1: must be >= 0',
        kind=KINDS[0]),
    Case(
        'train: pruning speed_up inf',
        TRAIN, ['$case_cfg', '--work-dir', '$work'],
        'speed_up = inf',
        _hook("method='l1', speed_up=float('inf')"),
        kind=KINDS[0]),
    Case(
        'train: sparse training reg nan',
        TRAIN, ['$case_cfg', '--work-dir', '$work'],
        'reg a finite number > 0',
        _hook("method='slim', ratio=0.3, prune_at=[2], "
              "sparse_training=dict(iters=1, reg=float('nan'))"),
        kind=KINDS[0]),
    # -- targets that prune nothing -----------------------------------------
    Case(
        'prune: every layer ignored',
        PRUNE,
        P + ['--ratio', '0.3', '--ignored', '.*'],
        'nothing to prune',
        kind=KINDS[1]),
    Case(
        'prune: every layer ignored, speed-up',
        PRUNE,
        P + ['--speed-up', '2', '--ignored', 'backbone', 'neck', 'bbox_head'],
        'nothing to prune',
        kind=KINDS[1]),
    Case(
        'prune: round-to wider than every layer',
        PRUNE,
        P + ['--ratio', '0.3', '--round-to', '4096'],
        'have at most round_to=4096 output channels',
        kind=KINDS[1]),
    Case(
        'train: pruning with every layer ignored',
        TRAIN, ['$case_cfg', '--work-dir', '$work'],
        'nothing to prune',
        _hook("method='l1', ratio=0.3, ignored=['.*']"),
        kind=KINDS[1]),
    # -- broken weights -----------------------------------------------------
    Case(
        'prune: NaN weights',
        PRUNE, ['$cfg', '$nan_ckpt', '--ratio', '0.3', '--out', '$work/out'],
        'holds non-finite weights: "backbone.stem.0.conv.weight"',
        kind=KINDS[2]),
    Case(
        'test: NaN weights',
        TEST, ['$cfg', '$nan_ckpt', '--work-dir', '$work'],
        'holds non-finite weights',
        kind=KINDS[2]),
    Case(
        'train: load_from with NaN weights',
        TRAIN, ['$case_cfg', '--work-dir', '$work'],
        'holds non-finite weights',
        "load_from = '$nan_ckpt'\n",
        kind=KINDS[2]),
    Case(
        'export: NaN weights',
        EXPORT, ['$cfg', '$nan_ckpt', '--out', '$work/m.onnx'],
        'holds non-finite weights',
        kind=KINDS[2]),
    Case(
        'sensitivity: NaN weights',
        SENSITIVITY, ['$cfg', '$nan_ckpt', '--out', '$work/out'],
        'holds non-finite weights',
        kind=KINDS[2]),
    Case(
        'latency_breakdown: NaN weights',
        LATENCY, ['$cfg', '$nan_ckpt', '--input-shape', '64', '64'],
        'holds non-finite weights',
        kind=KINDS[2]),
    Case(
        'inherit_weights: NaN weights',
        INHERIT, ['$cfg', '$nan_ckpt', '--out', '$work/x.pth'],
        'holds non-finite weights',
        kind=KINDS[2]),
    Case(
        'compress: NaN weights',
        COMPRESS, ['$nan_ckpt', '$work/x.pth'],
        'holds non-finite weights',
        kind=KINDS[2]),
    Case(
        'train: distiller teacher with NaN weights',
        TRAIN, ['$case_cfg', '--work-dir', '$work'],
        'holds non-finite weights',
        '''model = dict(_delete_=True, type='mmprune.Distiller',
    student={{_base_.model}}, teacher_config='$cfg',
    teacher_checkpoint='$nan_ckpt',
    distill_losses=dict(neck=dict(type='mmprune.FeatureMSELoss',
                                  student='neck', teacher='neck')))
''',
        kind=KINDS[2]),
    # -- output locations ---------------------------------------------------
    Case(
        'prune: --out cannot be created',
        PRUNE, ['$cfg', '$ckpt', '--ratio', '0.3', '--out', '$ckpt/sub'],
        'the folder cannot be created',
        kind=KINDS[3]),
    Case(
        'prune: --out holds an earlier result',
        PRUNE, ['$cfg', '$ckpt', '--ratio', '0.3', '--out', '$result_dir'],
        'already holds pruned.pth from an earlier run',
        kind=KINDS[3]),
    Case(
        'export: --out cannot be created',
        EXPORT, ['$cfg', '$ckpt', '--out', '$ckpt/sub/m.onnx'],
        'the folder cannot be created',
        kind=KINDS[3]),
    Case(
        'export: --out exists',
        EXPORT, ['$cfg', '$ckpt', '--out', '$existing_onnx'],
        'already exists',
        kind=KINDS[3]),
    Case(
        'sensitivity: --out cannot be created',
        SENSITIVITY, ['$cfg', '$ckpt', '--out', '$ckpt/sub'],
        'the folder cannot be created',
        kind=KINDS[3]),
    Case(
        'inherit_weights: --out cannot be created',
        INHERIT, ['$cfg', '$ckpt', '--out', '$ckpt/sub/x.pth'],
        'the folder cannot be created',
        kind=KINDS[3]),
    Case(
        'compress: OUT cannot be created',
        COMPRESS, ['$ckpt', '$ckpt/sub/x.pth'],
        'the folder cannot be created',
        kind=KINDS[3]),
    Case(
        'latency_breakdown: --json cannot be created',
        LATENCY, ['$cfg', '$ckpt', '--json', '$ckpt/sub/b.json'],
        'the folder cannot be created',
        kind=KINDS[3]),
    Case(
        'test: --out cannot be created',
        TEST,
        ['$cfg', '$ckpt', '--work-dir', '$work', '--out', '$ckpt/sub/p.pkl'],
        'the folder cannot be created',
        kind=KINDS[3]),
    Case(
        'train: --work-dir cannot be created',
        TRAIN, ['$cfg', '--work-dir', '$ckpt/sub'],
        'the folder cannot be created',
        kind=KINDS[3]),
    Case(
        'param_breakdown: --json cannot be created',
        BREAKDOWN, ['$cfg', '--json', '$ckpt/sub/b.json'],
        'the folder cannot be created',
        kind=KINDS[3]),
    # -- input sizes against the model --------------------------------------
    Case(
        'prune: input shape below the stride',
        PRUNE,
        P + ['--ratio', '0.3', '--input-shape', '8', '8'],
        '--input-shape 8 8: smaller than the model\'s largest stride (32)',
        kind=KINDS[4]),
    Case(
        'export: input shape below the stride',
        EXPORT,
        ['$cfg', '$ckpt', '--out', '$work/m.onnx', '--input-shape', '8', '8'],
        '--input-shape 8 8: smaller than',
        kind=KINDS[4]),
    Case(
        'export: input shape not a multiple of the padding',
        EXPORT, [
            '$cfg', '$ckpt', '--out', '$work/m.onnx', '--input-shape', '100',
            '100', '--cfg-options',
            'model.data_preprocessor.pad_size_divisor=32'
        ],
        'must be one: use 128 128',
        kind=KINDS[4]),
    Case(
        'latency_breakdown: input shape below the stride',
        LATENCY, ['$cfg', '$ckpt', '--input-shape', '8', '8'],
        '--input-shape 8 8: smaller than',
        kind=KINDS[4]),
    Case(
        'sensitivity: input shape below the stride',
        SENSITIVITY,
        ['$cfg', '$ckpt', '--input-shape', '8', '8', '--out', '$work/out'],
        '--input-shape 8 8: smaller than',
        kind=KINDS[4]),
    Case(
        'train: pruning input_shape below the stride',
        TRAIN, ['$case_cfg', '--work-dir', '$work'],
        'input_shape 8 8: smaller than',
        _hook("method='l1', ratio=0.3, input_shape=(8, 8)"),
        kind=KINDS[4]),
]


class _CodeInCheckpoint:
    """Pickles as a call of os.system: safe loading must refuse it."""

    def __reduce__(self):
        return (os.system, ('true', ))


def make_fixtures(root: str) -> Dict[str, str]:
    """The files the cases name, in ``root``: a tiny RTMDet config and a
    checkpoint of it, and broken, foreign or unsafe variants."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmprune  # noqa: F401
    from mmprune.models.builder import build_model_from
    os.makedirs(root, exist_ok=True)
    f = {'repo': REPO}

    def write(name: str, text: str) -> str:
        path = osp.join(root, name)
        with open(path, 'w') as fh:
            fh.write(text)
        return path

    f['cfg'] = write('tiny_rtmdet.py', string.Template(TINY).substitute(f))
    f['bad_syntax_cfg'] = write('bad_syntax.py',
                                f"_base_ = '{f['cfg']}'\nmodel = dict(\n")
    f['missing_base_cfg'] = write('missing_base.py',
                                  "_base_ = 'no_such_base.py'\n")
    cfg = Config.fromfile(f['cfg'])
    init_default_scope('mmdet')
    torch.manual_seed(0)
    state = build_model_from(cfg).state_dict()
    f['ckpt'] = osp.join(root, 'rtmdet.pth')
    torch.save(
        dict(state_dict=state, meta=dict(cfg=cfg.pretty_text)), f['ckpt'])
    f['ckpt_dir'] = osp.join(root, 'source')
    os.makedirs(f['ckpt_dir'], exist_ok=True)
    f['ckpt_in_dir'] = osp.join(f['ckpt_dir'], 'pruned.pth')
    shutil.copy(f['ckpt'], f['ckpt_in_dir'])
    narrow = dict(state)
    narrow['backbone.stem.1.conv.weight'] = torch.zeros(8, 12, 3, 3)
    f['other_width_ckpt'] = osp.join(root, 'other_width.pth')
    torch.save(dict(state_dict=narrow), f['other_width_ckpt'])
    seg = Config.fromfile(
        osp.join(
            REPO,
            'configs/segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py'))
    init_default_scope('mmseg')
    f['other_arch_ckpt'] = osp.join(root, 'segformer.pth')
    torch.save(
        dict(state_dict=build_model_from(seg).state_dict()),
        f['other_arch_ckpt'])
    init_default_scope('mmdet')
    f['empty_ckpt'] = write('empty.pth', '')
    with open(f['ckpt'], 'rb') as src:
        head = src.read(osp.getsize(f['ckpt']) // 2)
    f['truncated_ckpt'] = osp.join(root, 'truncated.pth')
    with open(f['truncated_ckpt'], 'wb') as out:
        out.write(head)
    f['text_ckpt'] = write('notes.pth', 'epoch 12: bbox mAP 0.61\n')
    f['list_ckpt'] = osp.join(root, 'list.pth')
    torch.save([1, 2, 3], f['list_ckpt'])
    nan = dict(state)
    nan['backbone.stem.0.conv.weight'] = torch.full_like(
        state['backbone.stem.0.conv.weight'], float('nan'))
    f['nan_ckpt'] = osp.join(root, 'diverged.pth')
    torch.save(dict(state_dict=nan), f['nan_ckpt'])
    f['result_dir'] = osp.join(root, 'earlier_result')
    os.makedirs(f['result_dir'], exist_ok=True)
    shutil.copy(f['ckpt'], osp.join(f['result_dir'], 'pruned.pth'))
    f['existing_onnx'] = write('existing.onnx', 'an earlier export\n')
    f['unsafe_ckpt'] = osp.join(root, 'unsafe.pth')
    torch.save(
        dict(state_dict={}, payload=_CodeInCheckpoint()), f['unsafe_ckpt'])
    return f


@dataclass
class Outcome:
    name: str
    classification: str
    seconds: float
    message: str
    written: List[str] = field(default_factory=list)


def _results(folder: str) -> set:
    return {
        osp.join(d, n)
        for d, _, names in os.walk(folder)
        for n in names if n.endswith(RESULT_SUFFIXES)
    }


def _run_tool(tool: str, args: List[str]) -> Tuple[bool, str]:
    """Run ``python tool args`` in this process: (raised, message)."""
    argv, err = sys.argv, io.StringIO()
    sys.argv = [tool] + args
    try:
        with contextlib.redirect_stderr(err):
            runpy.run_path(osp.join(REPO, tool), run_name='__main__')
        return False, err.getvalue()[-500:]
    except SystemExit as e:
        if e.code in (0, None):
            return False, err.getvalue()[-500:]
        return True, f'{e.code}: {err.getvalue()}'
    except Exception as e:  # noqa: BLE001 - classified below
        return True, ''.join(traceback.format_exception_only(e)).strip()
    finally:
        sys.argv = argv


def run_case(case: Case, fixtures: Dict[str, str], work: str) -> Outcome:
    os.makedirs(work, exist_ok=True)
    names = dict(fixtures, work=work)
    if case.config:
        text = f"_base_ = '{fixtures['cfg']}'\n" + case.config
        names['case_cfg'] = osp.join(work, 'case.py')
        with open(names['case_cfg'], 'w') as fh:
            fh.write(string.Template(text).substitute(names))
    args = [string.Template(a).substitute(names) for a in case.args]
    expect = string.Template(case.expect).substitute(names)
    watched = [work, osp.dirname(fixtures['cfg'])]
    before = set().union(*(_results(w) for w in watched))
    sources = {p: os.stat(p).st_mtime_ns for p in before}
    start = time.perf_counter()
    raised, message = _run_tool(case.tool, args)
    seconds = time.perf_counter() - start
    after = set().union(*(_results(w) for w in watched))
    written = sorted(after - before) + sorted(
        p for p, t in sources.items()
        if osp.exists(p) and os.stat(p).st_mtime_ns != t)
    if not raised:
        classification = 'accepted'
    elif expect not in message:
        classification = 'unclear error'
    elif seconds <= BEFORE_WORK_S:
        classification = 'clear error before work'
    else:
        classification = 'clear error after work'
    return Outcome(case.name, classification, round(seconds, 2), message,
                   written)


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('--only', nargs='*', help='case names to run')
    args = parser.parse_args()
    os.environ.setdefault('MMPRUNE_DATA', tempfile.mkdtemp())
    root = tempfile.mkdtemp(prefix='mmprune_bad_inputs_')
    fixtures = make_fixtures(osp.join(root, 'fixtures'))
    outcomes = []
    for i, case in enumerate(CASES):
        if args.only and case.name not in args.only:
            continue
        out = run_case(case, fixtures, osp.join(root, f'case{i}'))
        outcomes.append(out)
        print(
            f'| {out.name} | {out.classification} | {out.seconds:.1f} s | '
            f'{"WROTE " + ", ".join(out.written) if out.written else "-"} '
            f'| {out.message.splitlines()[-1][:160] if out.message else ""}'
            ' |',
            flush=True)
    counts: Dict[str, int] = {}
    for out in outcomes:
        counts[out.classification] = counts.get(out.classification, 0) + 1
    wrote = sum(bool(o.written) for o in outcomes)
    print(f'\n{len(outcomes)} cases: ' +
          ', '.join(f'{n} {k}' for k, n in sorted(counts.items())) +
          f'; {wrote} wrote a result file')
    shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
