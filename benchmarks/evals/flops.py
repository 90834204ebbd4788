"""Parameter count and multiply-accumulate count of a backbone, measured with fvcore."""
from __future__ import annotations

import copy
import logging
import warnings

import torch
from torch import nn

from benchmarks.evals.base import Column, Evaluator, numbered_columns, register_evaluator

__all__ = ['complexity']


def complexity(backbone: nn.Module, input_size: int, channels: int = 3) -> dict:
    """Parameters (millions) and GMACs of ``backbone`` for one ``[1, channels, input_size, input_size]`` image.

    Args:
        backbone: any ``nn.Module`` taking a ``[B, C, H, W]`` image tensor.
        input_size: square input side ``H = W`` in pixels.
        channels: input channels ``C``.

    Returns:
        ``dict(params_m=float, gmacs=float, input_size=int, unsupported_ops=list[str])`` where
        ``params_m`` counts every parameter of the module (shared parameters once), in millions;
        ``gmacs`` is fvcore ``FlopCountAnalysis(...).total() / 1e9`` at batch size 1; and
        ``unsupported_ops`` is the sorted list of operator names fvcore met but did not count
        (their cost is missing from ``gmacs``).

    fvcore (facebookresearch/fvcore, ``fvcore.nn.FlopCountAnalysis``) counts one fused
    multiply-add as one flop, so its "flops" are MACs: torchvision ResNet-18 at 224 px gives
    1.819 GMACs and 11.69 M parameters with its ``fc`` head, 11.18 M parameters for the backbone
    alone (``fc = nn.Identity()``). Papers that quote "1.8 GFLOPs" for ResNet-18 use this
    convention.

    The measurement runs on a deep copy, in eval mode, on CPU, under ``torch.no_grad()``: the
    caller's module keeps its device, dtype and ``training`` flag. The copy is cast to float32
    because the dummy input is float32.
    """
    # Imported lazily so that importing the evals package does not require fvcore; fvcore's
    # import scripts a loss with torch.jit.script, which newer torch flags as deprecated.
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*torch.jit.script.*', category=FutureWarning)
        from fvcore.nn import FlopCountAnalysis

    if input_size < 1 or channels < 1:
        raise ValueError(f'input_size and channels must be >= 1, got {input_size}, {channels}')

    params = sum(p.numel() for p in backbone.parameters())

    model = copy.deepcopy(backbone).cpu().float().eval()
    dummy = torch.zeros(1, channels, input_size, input_size)

    # fvcore logs unsupported / uncalled ops through the logging module and jit tracing emits
    # TracerWarnings; both are noise here, the unsupported ops are returned explicitly instead.
    fv_logger = logging.getLogger('fvcore.nn.jit_analysis')
    prev_disabled = fv_logger.disabled
    fv_logger.disabled = True
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            analysis = (FlopCountAnalysis(model, dummy)
                        .unsupported_ops_warnings(False)
                        .uncalled_modules_warnings(False)
                        .tracer_warnings('none'))
            total = analysis.total()
            unsupported = sorted(analysis.unsupported_ops().keys())
    finally:
        fv_logger.disabled = prev_disabled

    return dict(
        params_m=params / 1e6,
        gmacs=total / 1e9,
        input_size=int(input_size),
        unsupported_ops=unsupported,
    )


@register_evaluator('flops')
class ComplexityEvaluator(Evaluator):
    """Parameters and GMACs of the backbone (fvcore) at the suite resolution and at ``sizes``."""

    order = 50

    @classmethod
    def check(cls, cfg, evals_cfg):
        sizes = cfg.get('sizes', [224])
        if not all(isinstance(s, int) and s > 0 for s in sizes):
            return [f'evals.flops.sizes={sizes!r} must be positive integers (input sides in pixels).']
        return []

    @classmethod
    def columns(cls, keys):
        cols = [Column(f, h, '.3f' if f != 'params_m' else '.2f', 'cost', 'min')
                for f, h in (('params_m', 'Params (M)'), ('gmacs', 'GMACs')) if f in keys]
        return cols + numbered_columns(keys, r'gmacs_(\d+)', 'GMACs @{}', fmt='.3f', group='cost', better='min')

    def run(self, ctx):
        c = complexity(ctx.backbone, ctx.image_size)
        out = dict(params_m=c['params_m'], gmacs=c['gmacs'])
        for size in self.cfg.get('sizes', [224]):
            out[f'gmacs_{size}'] = complexity(ctx.backbone, size)['gmacs']
        return out
