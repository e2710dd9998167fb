"""The finetune schedule tools/prune.py writes: a share of the base
config's budget in its own unit (epochs or iterations), a share of its
peak rate, cosine to zero; a config without a budget or a rate is refused
by name; what --cfg-options set wins."""
import pytest
from conftest import RTMDET, SEGFORMER
from mmengine.config import Config

from mmprune.engine.finetune_config import write_finetune_config
from mmprune.engine.finetune_schedule import (BUDGET_SHARE, PEAK_RATE_SHARE,
                                              NoScheduleError,
                                              finetune_schedule)
from mmprune.utils import read_config


def _written(tmp_path, config, cfg_options=None) -> Config:
    cfg = read_config(config, cfg_options)
    path = write_finetune_config(
        str(tmp_path / 'finetune.py'),
        config,
        cfg,
        str(tmp_path / 'pruned.pth'),
        cfg_options,
        schedule=finetune_schedule(cfg))
    return Config.fromfile(path), cfg


def test_an_epoch_based_config_gets_a_share_of_its_epochs(tmp_path):
    written, base = _written(tmp_path, RTMDET)
    epochs = round(base.train_cfg.max_epochs * BUDGET_SHARE)
    assert written.train_cfg.max_epochs == epochs
    assert written.train_cfg.val_interval == epochs
    assert written.train_cfg.type == base.train_cfg.type  # merged, not new
    lr = written.optim_wrapper.optimizer.lr
    assert lr == pytest.approx(base.optim_wrapper.optimizer.lr *
                               PEAK_RATE_SHARE)
    assert written.optim_wrapper.optimizer.type == 'AdamW'
    warmup, cosine = written.param_scheduler
    assert warmup.type == 'LinearLR' and not warmup.by_epoch
    assert cosine.type == 'CosineAnnealingLR' and cosine.by_epoch
    assert cosine.end == epochs and cosine.eta_min == 0
    assert written.load_from.endswith('pruned.pth')
    text = open(tmp_path / 'finetune.py').read()
    assert f'{epochs} of the base config\'s 12 epochs' in text


def test_an_iteration_based_config_gets_a_share_of_its_iterations(tmp_path):
    written, base = _written(tmp_path, SEGFORMER)
    iters = round(base.train_cfg.max_iters * BUDGET_SHARE)
    assert written.train_cfg.max_iters == iters
    assert written.param_scheduler[-1].end == iters
    assert not written.param_scheduler[-1].by_epoch


def test_a_schedule_set_with_cfg_options_is_kept_whole(tmp_path):
    written, base = _written(tmp_path, RTMDET, {'train_cfg.max_epochs': 5})
    assert written.train_cfg.max_epochs == 5
    # none of the finetune schedule: the user's, not half of each
    assert written.param_scheduler == base.param_scheduler
    assert written.optim_wrapper == base.optim_wrapper
    assert "The schedule is the base config's" in open(tmp_path /
                                                       'finetune.py').read()


@pytest.mark.parametrize('drop,key', [('optim_wrapper', 'optimizer.lr'),
                                      ('train_cfg', 'max_iters')])
def test_a_config_without_rate_or_budget_is_refused(drop, key):
    cfg = read_config(RTMDET)
    cfg[drop] = dict(type='IterBasedTrainLoop') if drop == 'train_cfg' \
        else dict(type='OptimWrapper', optimizer=dict(type='SGD'))
    with pytest.raises(NoScheduleError, match=key):
        finetune_schedule(cfg)
