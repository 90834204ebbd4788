"""Write a synthetic teacher checkpoint (random weights) in the exact layout of a public SSL release.

For trying --teacher / --teacher-spec without downloading the real files (docs/methods.md#teacher-checkpoints):

    python -m tests.helpers.make_teacher_checkpoint --list
    python -m tests.helpers.make_teacher_checkpoint --layout moco_v2 --arch resnet18 --width 0.25 --out moco_v2.pth
    tools/bench.py --teacher moco_v2.pth ...

(from the repository root). See `tests.helpers.checkpoints` for what each layout contains.
"""
import argparse
import sys
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--list', action='store_true', help='list the layouts (teacher specs) and exit')
    p.add_argument('--layout', help='teacher spec name whose file layout to write (see --list)')
    p.add_argument('--arch', default='resnet18', help='backbone architecture (default resnet18)')
    p.add_argument('--width', type=float, default=0.25, help='width multiplier (default 0.25)')
    p.add_argument('--small-input', action='store_true', help='3x3 stride-1 stem for 32-64 px images')
    p.add_argument('--seed', type=int, default=0, help='seed of the random weights (default 0)')
    p.add_argument('--head-out', type=int, default=16, help='output dimension of the projection head (default 16)')
    p.add_argument('--out', type=Path, help='file to write')
    args = p.parse_args(argv)
    if not args.list and (args.layout is None or args.out is None):
        p.error('--layout and --out are required (or pass --list)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from benchmarks.teachers.specs import TEACHER_SPECS, describe_teacher_specs
    if args.list:
        print('layouts (teacher specs, in detection order):')
        print(describe_teacher_specs())
        return 0
    if args.layout not in TEACHER_SPECS:
        print(f'error: unknown layout {args.layout!r}; valid: {", ".join(TEACHER_SPECS)} (see --list)', file=sys.stderr)
        return 2
    from methods.backbones import list_backbones
    if args.arch not in list_backbones():
        print(f'error: unknown --arch {args.arch!r}; valid: {", ".join(list_backbones())}', file=sys.stderr)
        return 2
    from tests.helpers.checkpoints import write_fake_checkpoint
    written = write_fake_checkpoint(args.layout, args.out, arch=args.arch, width=args.width,
                                    small_input=args.small_input, seed=args.seed, head_out=args.head_out)
    spec = TEACHER_SPECS[args.layout]
    head = f', head {spec.head_kind}' if written.head is not None else ''
    print(f'wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): {args.layout} layout, {args.arch} '
          f'x{args.width:g}{" small-input" if args.small_input else ""}, feat_dim {written.backbone.feat_dim}{head}')
    if not spec.autodetect:
        print(f'note: this layout is not auto-detected; load it with --teacher-spec {args.layout}')
    if args.layout == 'compress_student':
        print('note: the file pickles argparse.Namespace; load it with --teacher-allow-globals argparse.Namespace')
    return 0


if __name__ == '__main__':
    sys.exit(main())
