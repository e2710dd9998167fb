"""The converged benchmark's configs: 128 px everywhere, a test split
apart from the validation split and scored against its own annotations,
and finetunes within 1/6 of the baseline's epochs, starting from its
last checkpoint."""
import os.path as osp

from conftest import REPO
from mmengine.config import Config

import mmprune  # noqa: F401  (registries, the mmrotate shim)

BASELINE = osp.join(REPO, 'configs/rtmdet/rtmdet_tiny_48e_shapes-128.py')
FINETUNES = [
    osp.join(REPO,
             'configs/rtmdet/rtmdet_tiny_finetune-cosine-6e_shapes-128.py'),
    osp.join(
        REPO, 'configs/pruning/rtmdet/'
        'rtmdet_tiny_group-norm-sensitivity-2x_cosine-6e_shapes-128.py')
]


def _resize_scales(loader) -> set:
    return {
        tuple(t['scale'])
        for t in loader['dataset']['pipeline'] if t['type'] == 'Resize'
    }


def test_every_split_is_128_px_and_the_test_split_is_its_own():
    cfg = Config.fromfile(BASELINE)
    roots = {}
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        assert loader['dataset']['shapes']['img_size'] == 128, split
        assert loader['dataset']['shapes']['split'] == split
        assert _resize_scales(loader) == {(128, 128)}, split
        roots[split] = loader['dataset']['data_root']
    assert len(set(roots.values())) == 3
    assert cfg.test_dataloader['dataset']['shapes']['num_images'] >= 1000
    for split in ('val', 'test'):
        assert cfg[f'{split}_evaluator']['ann_file'] == \
            roots[split] + 'annotation.json'


def test_finetunes_load_the_last_checkpoint_within_a_sixth_of_the_budget():
    base = Config.fromfile(BASELINE)
    epochs = base.train_cfg['max_epochs']
    for path in FINETUNES:
        cfg = Config.fromfile(path)
        assert cfg.load_from.endswith(f'epoch_{epochs}.pth'), path
        assert cfg.train_cfg['max_epochs'] * 6 <= epochs, path
        iters = cfg.train_cfg['max_epochs'] * 800 // 8
        # the schedule ends at the run's end, at rate zero
        assert cfg.param_scheduler[-1]['end'] == iters, path
        assert cfg.param_scheduler[-1]['eta_min'] == 0, path
        assert cfg.test_dataloader == base.test_dataloader, path
