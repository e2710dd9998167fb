"""The README's quick start, run as written on a small model: a random-init
RTMDet-tiny on a few synthetic images stands in for the user's trained
checkpoint; the commands themselves are read from the README."""
import json
import os.path as osp
import re
import subprocess
import sys

import torch
from conftest import REPO, RTMDET, THREADS, TINY_LOADERS
from mmengine.config import Config

from mmprune.models.builder import build_model_from


def quick_start_commands() -> str:
    text = open(osp.join(REPO, 'README.md')).read()
    block = re.search(r'<!-- quick-start -->\n```bash\n(.*?)```', text, re.S)
    assert block, 'README.md has no quick-start block'
    return block.group(1)


def test_the_quick_start_runs_end_to_end(tmp_path):
    config = tmp_path / 'my_rtmdet.py'
    config.write_text(f'_base_ = {RTMDET!r}\n' + TINY_LOADERS + '''
train_cfg = dict(max_epochs=1, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
''')
    checkpoint = str(tmp_path / 'trained.pth')
    model = build_model_from(Config.fromfile(str(config)))
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)

    script = quick_start_commands()
    script = re.sub(r'^CONFIG=\S+', f'CONFIG={config}', script, flags=re.M)
    script = re.sub(
        r'^CHECKPOINT=\S+', f'CHECKPOINT={checkpoint}', script, flags=re.M)
    script = re.sub(r'^OUT=\S+', f'OUT={tmp_path}/pruned', script, flags=re.M)
    script = re.sub(r'^python ', f'{sys.executable} ', script, flags=re.M)
    # prune, train, test, export, quantize, test the deployed models
    assert script.count(sys.executable) == 6
    proc = subprocess.run(['bash', '-euo', 'pipefail', '-c', script],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=900,
                          env=dict(
                              __import__('os').environ,
                              OMP_NUM_THREADS=THREADS))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    pruned = tmp_path / 'pruned'
    finetune = pruned / 'my_rtmdet_finetune.py'
    # prune: the checkpoint, the report, the finetune config, next commands
    assert (pruned / 'pruned.pth').is_file()
    assert (pruned / 'pruning_results.json').is_file()
    # the recipe the quick start names: sensitivity-allocated ratios
    report = json.load(open(pruned / 'pruning_results.json'))
    assert report['target']['allocation'] == 'sensitivity'
    assert f'python tools/train.py {finetune}' in out
    cfg = Config.fromfile(str(finetune))
    assert cfg.load_from == str(pruned / 'pruned.pth')
    assert any(h['type'] == 'mmprune.StructuredPruningHook'
               for h in cfg.custom_hooks)
    assert any(h['type'] == 'EMAHook' for h in cfg.custom_hooks)
    # finetune rebuilt the structure; test evaluated; export agreed
    assert 'rebuilt the pruned structure' in out
    assert 'Epoch(test)' in out  # tools/test.py evaluated
    assert 'ONNX Runtime agrees with PyTorch' in out
    assert (pruned / 'model.onnx').is_file()
    # INT8 beside it, and the test set scored in three runtimes
    assert (pruned / 'model.int8.onnx').is_file()
    assert re.search(r'\| .*model\.int8\.onnx \| onnxruntime-int8 \|', out)
    assert '| pytorch |' in out
