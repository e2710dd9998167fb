"""What every mmprune tool's command line shares: a ``--help`` that shows
the whole description and each flag's default, ``--cfg-options`` as the
OpenMMLab tools explain it, ``--device``, and the sensitivity scan's
cache."""
import argparse
import copy
from typing import Optional

from mmengine.config import DictAction

from .cache_dir import cache_dir
from .device import default_device

CFG_OPTIONS_HELP = (
    'override settings of the config, as key=value pairs; a nested key is '
    'dotted (model.backbone.depth=18), a list is written [a,b] or a,b, and '
    'a tuple (a,b) without spaces; quote a value with spaces. Keys and '
    'values are merged into the config after it is read')

# stands for a missing help text (argparse skips blank ones)
_NO_HELP = '\0'


def _shows_default(action: argparse.Action) -> bool:
    """An option whose default is worth printing (switches, off by
    default, are not)."""
    return bool(action.option_strings) and action.nargs != 0 and \
        action.default is not None and action.default is not argparse.SUPPRESS


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The tool's docstring as written, and ``(default: X)`` after every
    option that has a default (switches, which default to off, excepted)."""

    def _format_action(self, action: argparse.Action) -> str:
        # argparse prints no help line, and so no default, for an option
        # without help text: give it one to hang the default on
        if not action.help and _shows_default(action):
            action = copy.copy(action)
            action.help = _NO_HELP
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = (action.help or '').replace(_NO_HELP, '').strip()
        if _shows_default(action) and '%(default)' not in text:
            default = action.default
            shown = (' '.join(map(str, default)) if isinstance(
                default, (list, tuple)) else default)
            text += f' (default: {shown})'
        return text.strip()


def tool_parser(doc: Optional[str]) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose ``--help`` shows ``doc`` (a tool's
    module docstring) whole and every default."""
    return argparse.ArgumentParser(
        description=(doc or '').strip(), formatter_class=HelpFormatter)


def add_cfg_options_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help=CFG_OPTIONS_HELP)


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    """``--device``, as every mmprune tool spells it."""
    parser.add_argument(
        '--device',
        default=default_device(),
        help='where the model runs: cpu, cuda or cuda:N; cuda when torch '
        'sees a GPU, else cpu')


def add_sensitivity_cache_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--sensitivity-cache',
        default=cache_dir('sensitivity'),
        help='folder where the sensitivity scan keeps its points, by '
        'weights, batches and settings: another target on the same '
        'checkpoint reuses them, and a scan that died resumes '
        '($MMPRUNE_CACHE_DIR/sensitivity; MMPRUNE_CACHE_DIR defaults to '
        '~/.cache/mmprune)')
    parser.add_argument(
        '--no-sensitivity-cache',
        action='store_true',
        help='scan again and keep nothing')


def sensitivity_cache_of(args: argparse.Namespace) -> Optional[str]:
    """The scan cache folder the flags ask for; None: no cache."""
    return None if args.no_sensitivity_cache else args.sensitivity_cache


def add_paired_run_args(parser: argparse.ArgumentParser) -> None:
    """``NAME=PKL ...``, ``--chunks`` and ``--control`` of the paired
    score tools (``tools/analysis_tools/paired_*.py``)."""
    parser.add_argument(
        'runs',
        nargs='+',
        metavar='NAME=PKL',
        help='predictions dumped by tools/test.py --out; the first is the '
        'reference')
    parser.add_argument(
        '--chunks',
        type=int,
        default=20,
        help='image chunks for the standard errors')
    parser.add_argument(
        '--control',
        metavar='NAME',
        help='a second reference (the unpruned model finetuned like the '
        'others): adds the share of it and the paired difference to it')


def paired_runs_of(parser: argparse.ArgumentParser,
                   args: argparse.Namespace) -> dict:
    """``{name: path}`` from the ``NAME=PKL`` arguments, in order; a
    malformed one is a usage error."""
    runs = {}
    for item in args.runs:
        name, sep, path = item.partition('=')
        if not sep or not name or not path:
            parser.error(f'{item!r}: write runs as NAME=PATH.pkl')
        runs[name] = path
    return runs
