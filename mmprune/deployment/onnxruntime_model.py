"""Predict with exported ONNX graphs in ONNX Runtime and the model's own
post-processing in Python.

The graphs stand in for the PyTorch modules they were exported from: for
the duration of a prediction, ``extract_feat`` and the dense head's forward
return the network graph's outputs, and each RoI head's forward runs its
graph (a DETR-family detector's ``forward_transformer`` returns stand-ins
of its outputs' layout, which its head's ``predict`` only hands to the head's
forward). Everything else (prior boxes, box decoding, NMS, RoI Align, resizing
and cropping a segmentation map) is the model's unchanged ``predict`` code,
so results are laid out exactly as ``model.predict`` lays them out.
"""
import os.path as osp
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

import torch
import torch.nn as nn
from torch.utils import _pytree as pytree

from .onnx_export import ort_session, read_manifest
from .onnx_graphs import transformer_stand_ins


class OnnxRuntimeModel:
    """``model``'s predictions with its exported graphs (``onnx_path`` and
    the manifest beside it) run in ONNX Runtime. ``model`` supplies the
    data preprocessor and the post-processing; it must have the exported
    structure (``load_deployable_model``)."""

    def __init__(self,
                 model: nn.Module,
                 onnx_path: str,
                 threads: int = 0,
                 providers: Optional[Sequence[str]] = None) -> None:
        self.model = model.eval()
        self.manifest = read_manifest(onnx_path)
        if self.manifest.get('end2end'):
            raise ValueError(
                f'"{onnx_path}" is an end-to-end graph: run it with '
                'mmprune.deployment.End2EndOnnxModel, which needs no model')
        folder = osp.dirname(osp.abspath(onnx_path))
        self.graphs = {g['name']: g for g in self.manifest['graphs']}
        self.sessions = {
            name:
            ort_session(
                osp.join(folder, g['file']), threads,
                list(providers) if providers else None)
            for name, g in self.graphs.items()
        }

    def run_graph(self, name: str, *inputs:
                  torch.Tensor) -> List[torch.Tensor]:
        session = self.sessions[name]
        names = [i.name for i in session.get_inputs()]
        outs = session.run(None, {
            n: t.detach().cpu().numpy()
            for n, t in zip(names, inputs)
        })
        return [torch.from_numpy(o) for o in outs]

    def _check_input(self, inputs: torch.Tensor) -> None:
        shape = self.manifest['input_shape']
        if not self.manifest['dynamic'] and (inputs.shape[0] != 1 or list(
                inputs.shape[-2:]) != shape):
            raise ValueError(
                f'the ONNX graphs were exported for batch 1 at {shape[0]}x'
                f'{shape[1]} (static); this batch is {list(inputs.shape)}: '
                'export with --dynamic, or resize the input to that shape')

    @contextmanager
    def _graphs_in_place(self) -> Iterator[None]:
        network = self.graphs['network']
        spec = pytree.treespec_loads(network['output_spec'])
        n = network['num_features']
        head_outputs: Dict[str, object] = {}

        def extract_feat(inputs: torch.Tensor):
            self._check_input(inputs)
            outs = self.run_graph('network', inputs)
            head_outputs['value'] = pytree.tree_unflatten(outs[n:], spec)
            # a one-stage head reads only its own outputs (returned below);
            # a RoI stage reads the features
            return tuple(outs[:n]) if n else tuple(outs)

        def roi_forward(name: str, spec: pytree.TreeSpec):
            return lambda feats, *_: pytree.tree_unflatten(
                self.run_graph(name, feats), spec)

        # instance attributes shadow the class's methods; deleted after
        patched = [(self.model, 'extract_feat', extract_feat),
                   (self.model.get_submodule(network['replaces']), 'forward',
                    lambda *args, **kwargs: head_outputs['value'])]
        stand_ins = network.get('transformer_outputs')
        if stand_ins:
            # a DETR-family head's predict reads the transformer's outputs
            # only to call its forward, which returns the graph's outputs
            patched.append((self.model, 'forward_transformer',
                            lambda *args, **kwargs: transformer_stand_ins(
                                stand_ins['spec'], stand_ins['shapes'])))
        for name, g in self.graphs.items():
            if name != 'network':
                patched.append(
                    (self.model.get_submodule(g['replaces']), 'forward',
                     roi_forward(name,
                                 pytree.treespec_loads(g['output_spec']))))
        for module, attr, fn in patched:
            setattr(module, attr, fn)
        try:
            yield
        finally:
            for module, attr, _ in patched:
                module.__dict__.pop(attr, None)

    @torch.no_grad()
    def predict(self, data: dict) -> list:
        """Predictions for a batch as the dataloader yields it (before the
        data preprocessor), like ``model.test_step``."""
        data = self.model.data_preprocessor(data, False)
        return self.predict_preprocessed(data)

    @torch.no_grad()
    def predict_preprocessed(self, data: dict) -> list:
        with self._graphs_in_place():
            return self.model(
                data['inputs'], data['data_samples'], mode='predict')


def prediction_tensors(results: list) -> List[torch.Tensor]:
    """The prediction tensors of data samples (instances, segmentation map
    and logits), in a fixed order: to compare two predictions."""
    out = []
    for r in results:
        for key in ('pred_instances', 'pred_sem_seg', 'seg_logits'):
            if key in r:
                out += [
                    v.float() for _, v in sorted(r.get(key).items())
                    if isinstance(v, torch.Tensor)
                ]
    return out


def predictions_max_difference(want: list, got: list) -> float:
    """Largest absolute difference between two predictions of the same
    batch; ``inf`` when their layouts (box counts) differ."""
    a, b = prediction_tensors(want), prediction_tensors(got)
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return float('inf')
    return max([float((x - y).abs().max()) for x, y in zip(a, b) if x.numel()]
               or [0.0])
