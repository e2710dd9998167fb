"""Module-name patterns shared by pruning and sparsity."""
import re
from typing import List

import torch.nn as nn

# The final prediction layers of mmdet, mmrotate and mmseg heads (dense
# heads, RPN, RoI box/mask heads, DETR branches, decode heads): their
# output widths are the task's classes and box parameters.
DEFAULT_PROTECTED = (
    r'(^|\.)(rpn_cls|rpn_reg|fc_cls|fc_reg|conv_cls|conv_reg|conv_obj|'
    r'conv_centerness|conv_logits|conv_seg|conv_angle|retina_cls|'
    r'retina_reg|atss_cls|atss_reg|atss_centerness|gfl_cls|gfl_reg|'
    r'rtm_cls|rtm_reg|rtm_obj|rtm_ang|multi_level_conv_cls|'
    r'multi_level_conv_reg|multi_level_conv_obj|cls_branches|'
    r'reg_branches)(\.|$)', )


def check_pattern(pattern: str, key: str) -> None:
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f'{key}: {pattern!r} is not a valid regular '
                         f'expression ({e})') from None


def matching_modules(model: nn.Module, pattern: str, key: str,
                     types: tuple = (nn.Module, )) -> List[str]:
    """Names of the modules of the given types whose name the pattern
    matches (``re.search``); none is an error naming the pattern."""
    check_pattern(pattern, key)
    names = [n for n, m in model.named_modules() if n and isinstance(m, types)]
    found = [n for n in names if re.search(pattern, n)]
    if not found:
        raise ValueError(
            f'{key}: pattern {pattern!r} matches no module (module names '
            f'look like: {", ".join(names[:8])}, ...)')
    return found
