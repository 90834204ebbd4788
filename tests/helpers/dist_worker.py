"""Worker for tests/benchmarks/engine/test_distributed.py: trains one method through
`benchmarks.engine.runner.train_method` on a tiny embedded dataset, single-process or under torchrun
(gloo on CPU), and writes (rank 0) the per-step loss of the global batch and the method's queue buffers.
A method with `prepare` (BINGO's bags) prepares on random teacher features (tests.helpers.prepare_context).

    python tests/helpers/dist_worker.py --method compress_2q --out DIR
    python -m torch.distributed.run --nproc_per_node=2 tests/helpers/dist_worker.py --method compress_2q --out DIR

The student is an AlexNet (no BatchNorm), so a 2-process step is mathematically the single-process
step with the same global batch (DDP averages the two half-batch gradients; keys are gathered in
rank order); with BN the per-process batch statistics would legitimately differ.
"""
import argparse
import json
import sys
from pathlib import Path

# run as a script, so tests.helpers.ROOT is not importable yet: the repository root is two folders up
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.data.sources import build_datasets  # noqa: E402
from benchmarks.engine.distributed import dist_info, init_distributed  # noqa: E402
from benchmarks.engine.runner import build_method, train_method  # noqa: E402
from benchmarks.teachers.teacher import Teacher  # noqa: E402
from methods import get_method  # noqa: E402
from methods.backbones import build_backbone  # noqa: E402
from methods.heads import mlp_head  # noqa: E402
from tests.helpers import prepare_context  # noqa: E402

METHOD_CFGS = {'compress_2q': dict(bank_size=64), 'seed': dict(queue_size=64), 'disco': dict(queue_size=64, mlp_hidden=64),
               'bingo': dict(queue_size=64, mlp_hidden=64)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--method', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--epochs', type=int, default=2)
    args = p.parse_args()
    info = init_distributed('cpu')
    torch.set_num_threads(1)
    data = dict(type='embedded', num_classes=4, train_per_class=16, val_per_class=2, image_size=32, seed=0)
    train_set, *_ = build_datasets(data, ['center'], seed=0)
    torch.manual_seed(0)
    backbone = build_backbone('resnet18', width=0.125, small_input=True)
    teacher = Teacher(backbone, mlp_head(backbone.feat_dim, backbone.feat_dim, 16), name='tiny')
    cls = get_method(args.method)
    views = train_set.with_recipes([cls.augmentation] * cls.num_views)
    prepared = cls.prepare(prepare_context(teacher, n=len(train_set)), METHOD_CFGS[args.method])
    if cls.partner_views:  # BINGO: the last views show a partner from each sample's bag
        views = views.with_partners(prepared['bags'], cls.partner_views)
    budget = dict(epochs=args.epochs, batch_size=16, optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4),
                  schedule=dict(type='cosine', warmup_epochs=0), num_workers=0, log_interval=1,
                  checkpoint_interval=100)
    out = Path(args.out)
    student = dict(arch='alexnet', width=0.0625, small_input=True)
    torch.manual_seed(0)  # what train_method builds before the first step (to show the queues moved)
    initial = build_method(args.method, METHOD_CFGS[args.method], student, teacher, prepared=prepared).state_dict()
    result = train_method(args.method, METHOD_CFGS[args.method], student, teacher, views, budget, out / 'work', seed=0,
                          device='cpu', desc=args.method, prepared=prepared)
    if dist_info().is_main:
        def queues(state):
            return {k: v.cpu() for k, v in state.items() if 'queue' in k or 'bank' in k or k.endswith('ptr')}
        torch.save(queues(result.method.state_dict()), out / 'buffers.pt')
        torch.save(queues(initial), out / 'buffers_init.pt')
        (out / 'result.json').write_text(json.dumps(dict(loss_curve=result.loss_curve, world_size=info.world_size,
                                                         iterations=result.iterations,
                                                         images_seen=result.images_seen)))


if __name__ == '__main__':
    main()
