"""A model from its config, in the config's own registry scope."""
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope


def build_model_from(cfg: Config) -> nn.Module:
    """``cfg.model`` built by the registry of ``cfg.default_scope`` (mmdet,
    mmrotate, mmseg or mmprune), as the runner would build it."""
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return MODELS.build(cfg.model)
