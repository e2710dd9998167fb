import os
import os.path as osp
import subprocess
import sys
from typing import List

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Tiny data and loaders for every baseline: 4 training images, batch 2, so
# one epoch is two iterations; 2 validation images.
TINY_LOADERS = '''
shapes_tiny = dict(img_size=128, min_object_size=16, max_object_size=48,
                   max_objects=3)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(shapes=dict(shapes_tiny, num_images=4)))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(shapes=dict(shapes_tiny, num_images=2)))
test_dataloader = val_dataloader
'''


def tracing_cfg(path: str, data_dir: str, **shapes) -> Config:
    """``path``'s config with a tiny train loader (batch 2, no workers, 2
    images unless ``shapes`` says otherwise) over its own shapes split in
    ``data_dir``: for in-process tracing, pruning and loss checks."""
    cfg = Config.fromfile(path)
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    cfg.train_dataloader.dataset.shapes.update({'num_images': 2, **shapes})
    cfg.train_dataloader.dataset.data_root = osp.join(str(data_dir), '')
    return cfg


@pytest.fixture(scope='session', autouse=True)
def shapes_cache(tmp_path_factory) -> str:
    """Every test (and every tool it runs) generates shapes data into one
    session cache, never into the repository."""
    root = str(tmp_path_factory.mktemp('mmprune_data'))
    os.environ['MMPRUNE_DATA'] = root
    return root


def run_tool(args: List[str], timeout: int = 600,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python <args>`` from the repository root, as a user would."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='2')
    proc = subprocess.run([sys.executable] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(args)} failed ({proc.returncode}):\n'
            f'{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}')
    return proc
