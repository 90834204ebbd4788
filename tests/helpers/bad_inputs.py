"""Bad inputs to tools/bench.py, each refused before any work: the cases of tests/benchmarks/test_bad_inputs.py
and of scripts/bad_input_table.py (which writes the table of their first error lines).

A case is ``(id, kind, build, expected)``: ``build(tmp)`` returns the command-line arguments (creating any
files it needs under ``tmp``); ``expected`` are substrings the error message must contain.
"""
from pathlib import Path


from tests.helpers.bench import BASE_OPTS


# banks that fit the 200 training images of BASE_OPTS, so each case shows its own problem only
SMALL = {'compress_2q': 'bank_size', 'moco_v2': 'queue_size', 'seed': 'queue_size', 'slimclr': 'queue_size',
         'crd': 'num_negatives'}


def _opts(*extra, methods='compress_2q'):
    sizes = [f'method_cfgs.{m}.{SMALL[m]}=64' for m in methods.split(',') if m in SMALL]
    return lambda tmp: ['--methods', methods, '--cfg-options', *BASE_OPTS, *sizes, *extra]


def _args(*args):
    return lambda tmp: list(args)


def _folder(make):
    def build(tmp):
        root = Path(tmp) / 'data'
        root.mkdir(parents=True, exist_ok=True)
        make(root)
        return ['--data-root', str(root), '--methods', 'moco_v2', '--cfg-options', *BASE_OPTS,
                'method_cfgs.moco_v2.queue_size=8']
    return build


def _images(root: Path, classes=('ant', 'bee'), n=3):
    from PIL import Image
    for split in ('train', 'val'):
        for c, name in enumerate(classes):
            d = root / split / name
            d.mkdir(parents=True, exist_ok=True)
            for k in range(n):
                Image.new('RGB', (12, 12), (40 * k, 80 * c, 200)).save(d / f'{k}.png')


def _corrupt(root):
    _images(root)
    (root / 'train' / 'ant' / 'bad.jpg').write_bytes(b'<!DOCTYPE html><html>404</html>')


def _loop(root):
    _images(root)
    (root / 'train' / 'ant' / 'again').symlink_to(root / 'train' / 'ant', target_is_directory=True)


def _checkpoint(make):
    def build(tmp):
        import torch
        path = Path(tmp) / 'teacher.pth'
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path, torch)
        return ['--teacher', str(path), '--methods', 'compress_2q', '--cfg-options', *BASE_OPTS,
                'method_cfgs.compress_2q.bank_size=64']
    return build


def _unknown_keys(path, torch):
    torch.save({'state_dict': {'encoder.fc.weight': torch.zeros(2, 2)}}, path)


def _not_a_checkpoint(path, torch):
    path.write_bytes(b'this is not a checkpoint\n' * 10)


def _truncated(path, torch):
    from tests.helpers.checkpoints import write_fake_checkpoint
    write_fake_checkpoint('moco_v2', path, width=0.125)
    path.write_bytes(path.read_bytes()[:2000])


def _half_backbone(path, torch):
    from tests.helpers.checkpoints import write_fake_checkpoint
    write_fake_checkpoint('moco_v2', path, width=0.125)
    obj = torch.load(path, weights_only=False)
    sd = obj['state_dict']
    for key in [k for k in sd if 'layer4' in k]:
        del sd[key]
    torch.save(obj, path)


# a dataset suite cut to test size (networks and budget; banks within the few generated images)
NATIVE_OPTS = ['budget.epochs=1', 'budget.batch_size=8', 'teacher.train.epochs=1', 'teacher.arch.width=0.125',
               'student.width=0.125', 'method_cfgs.compress_2q.bank_size=8']


def _native(suite, make=None, *extra):
    def build(tmp):
        args = ['--config', suite, '--methods', 'compress_2q']
        if make is not None:
            root = Path(tmp) / 'data'
            root.mkdir(parents=True, exist_ok=True)
            make(root)
            args += ['--data-root', str(root)]
        return [*args, '--cfg-options', *NATIVE_OPTS, *extra]
    return build


def _cifar_without_test(root):
    from tests.helpers.native_data import write_cifar
    write_cifar(root, 'cifar100', n_train=16, n_test=8)
    (root / 'cifar-100-python' / 'test').unlink()


def _stl_truncated(root):
    from tests.helpers.native_data import write_stl10
    write_stl10(root, n_train=8, n_test=4, n_unlabeled=16)
    path = root / 'stl10_binary' / 'unlabeled_X.bin'
    path.write_bytes(path.read_bytes()[:-100])


def _flat_val_unlabelled(tmp):
    """ImageNet-100 over two listed classes whose val/ is flat and has lost its label file."""
    from tests.helpers.native_data import wnid, write_imagenet
    root = Path(tmp) / 'data'
    wnids = [wnid(k) for k in range(2)]
    write_imagenet(root, wnids, per_class=4, val_per_class=1, val_layout='flat', label_file='loc_csv')
    (root / 'LOC_val_solution.csv').unlink()
    (root / 'classes.txt').write_text('\n'.join(wnids) + '\n')
    return ['--config', 'imagenet100_resnet18', '--methods', 'compress_2q', '--data-root', str(root),
            '--cfg-options', *NATIVE_OPTS, 'data.image_size=32', f'data.classes_file={root / "classes.txt"}']


CASES = [
    # --- command-line flags
    ('misspelt method', 'CLI flag', _args('--methods', 'compres_2q'), ['unknown method', 'compres_2q']),
    ('empty --methods', 'CLI flag', _args('--methods', ','), ['--methods is empty']),
    ('unknown suite', 'CLI flag', _args('--config', 'no_such_suite'), ['unknown suite']),
    ('missing --data-root', 'CLI flag', _args('--data-root', '/definitely/not/here'), ['not a directory']),
    ('missing --teacher', 'CLI flag', _args('--teacher', '/definitely/not/here.pth'), ['does not exist']),
    ('non-integer seed', 'CLI flag', _args('--seeds', '0,one'), ['seeds must be integers']),
    ('repeated seed', 'CLI flag', _args('--seeds', '0,1,0'), ['listed twice']),
    ('negative seed', 'CLI flag', _args('--seeds', '-1'), ['non-negative']),
    ('--compare-to not in the run', 'CLI flag', _args('--methods', 'moco_v2', '--compare-to', 'moco'),
     ['is not a method of this run']),
    ('misspelt evaluation', 'CLI flag', lambda tmp: ['--evals', 'knn,retreival', *_opts()(tmp)], ['unknown evaluation']),
    ('unimportable --import', 'CLI flag', _args('--import', 'no_such_module_xyz'), ['no_such_module_xyz']),
    # --- config values
    ('override of a missing key', 'config value', _opts('budget.epoch=3'), ['budget.epochs']),
    ('negative epochs (teacher not trained)', 'config value', _opts('budget.epochs=-1'),
     ['budget.epochs=-1 must be an integer >= 1']),
    ('zero epochs', 'config value', _opts('budget.epochs=0'), ['budget.epochs=0']),
    ('non-numeric epochs', 'config value', _opts('budget.epochs=ten'), ["budget.epochs='ten'"]),
    ('zero batch size', 'config value', _opts('budget.batch_size=0'), ['budget.batch_size=0']),
    ('non-numeric batch size', 'config value', _opts('budget.batch_size=big'), ["budget.batch_size='big'"]),
    ('batch larger than the data', 'config value', _opts('budget.batch_size=4096'), ['exceeds the']),
    ('negative learning rate', 'config value', _opts('budget.optimizer.lr=-0.1'), ['budget.optimizer.lr=-0.1']),
    ('unknown optimiser', 'config value', _opts('budget.optimizer.type=Adam'), ["budget.optimizer.type='Adam'"]),
    ('SGD momentum of 1', 'config value', _opts('budget.optimizer.momentum=1.0'),
     ['budget.optimizer.momentum=1.0 must be a number in [0, 1)']),
    ('unknown schedule', 'config value', _opts('budget.schedule.type=linear'), ["budget.schedule.type='linear'"]),
    ('warm-up as long as training', 'config value', _opts('budget.schedule.warmup_epochs=1'),
     ['must be smaller than budget.epochs']),
    ('unknown precision', 'config value', _opts('budget.amp=fp8'), ["budget.amp='fp8'"]),
    ('momentum above 1', 'config value', _opts('method_cfgs.compress_2q.momentum=1.5'),
     ['method_cfgs.compress_2q.momentum=1.5 must be a number in [0, 1]']),
    ('zero temperature', 'config value', _opts('method_cfgs.compress_2q.temperature=0'),
     ['method_cfgs.compress_2q.temperature=0 must be a number > 0']),
    ('bank larger than the data', 'config value', _opts('method_cfgs.compress_2q.bank_size=100000'),
     ['too large for the training set']),
    ('unknown choice', 'config value', _opts('method_cfgs.compress_2q.student_bank=foo'),
     ["student_bank='foo' must be one of"]),
    ('fractional queue size', 'config value', _opts('method_cfgs.moco_v2.queue_size=2.5', methods='moco_v2'),
     ['method_cfgs.moco_v2.queue_size=2.5 must be an integer']),
    ('slimmable width 0', 'config value', _opts('method_cfgs.slimclr.widths=[1.0,0]', methods='slimclr'),
     ['widths=[1.0, 0] must be a non-empty list']),
    ('too many negatives', 'config value', _opts('method_cfgs.crd.num_negatives=5000', methods='crd'), ['at most 199']),
    ('bag larger than the data', 'config value', _opts('method_cfgs.bingo.bag_size=200', methods='bingo'),
     ['method_cfgs.bingo.bag_size=200 is too large', 'at most 199']),
    ('unknown backbone', 'config value', _opts('student.arch=resnet7'), ['not a known backbone']),
    ('zero width', 'config value', _opts('student.width=0'), ['student.width=0 must be a number > 0']),
    ('negative teacher epochs', 'config value', _opts('teacher.train.epochs=-1'), ['teacher.train.epochs=-1']),
    ('more classes than shapes', 'config value', _opts('data.num_classes=20'), ['data.num_classes=20']),
    ('image too small', 'config value', _opts('data.image_size=8'), ['data.image_size=8']),
    ('no training images', 'config value', _opts('data.train_per_class=0'), ['data.train_per_class=0']),
    ('probability above 1', 'config value', _opts('data.class_texture_prob=1.5'), ['data.class_texture_prob=1.5']),
    ('unknown corrupt-image policy', 'config value', _opts('data.on_corrupt=ignore'), ['on_corrupt']),
    ('negative seed in the config', 'config value', _opts('seed=-1'), ['seed=-1 must be an integer >= 0']),
    ('GPU option on a CPU machine', 'environment', _opts('budget.amp=bf16'), ['budget.amp is a GPU option']),
    ('unknown device', 'config value', _opts('device=tpu'), ["device='tpu' is not a device name"]),
    ('several problems at once', 'config value',
     _opts('budget.epochs=-1', 'data.num_classes=20', methods='compres_2q'),
     ['3 problems', 'unknown method', 'budget.epochs=-1', 'data.num_classes=20']),
    # --- data folders
    ('empty dataset folder', 'data folder', _folder(lambda root: None), ['train does not exist']),
    ('splits without classes', 'data folder',
     _folder(lambda root: [(root / s).mkdir() for s in ('train', 'val')]), ['no class sub-folders']),
    ('classes without images', 'data folder',
     _folder(lambda root: [(root / s / 'cat').mkdir(parents=True) for s in ('train', 'val')]), ['contains no images']),
    ('corrupt image', 'data folder', _folder(_corrupt), ['bad.jpg']),
    ('symlink loop', 'data folder', _folder(_loop), ['symbolic link into one of its own parent folders']),
    ('dataset suite without --data-root', 'data folder', _native('cifar100_resnet18'),
     ['no dataset folder was given', 'cifar-100-python/']),
    ('CIFAR folder missing a batch', 'data folder', _native('cifar100_resnet18', _cifar_without_test),
     ['incomplete CIFAR-100 folder', 'test is missing']),
    ('truncated STL-10 binary', 'data folder', _native('stl10_resnet18', _stl_truncated),
     ['unlabeled_X.bin', 'not a whole number of']),
    ('flat ImageNet val without labels', 'data folder', _flat_val_unlabelled,
     ['is flat', 'no label file was found']),
    ('unknown data.type', 'config value', _opts('data.type=cifar1000'), ["data.type='cifar1000'"]),
    # --- checkpoint files
    ('checkpoint of unknown layout', 'checkpoint file', _checkpoint(_unknown_keys), ['teacher.pth']),
    ('not a checkpoint', 'checkpoint file', _checkpoint(_not_a_checkpoint), ['teacher.pth']),
    ('truncated checkpoint', 'checkpoint file', _checkpoint(_truncated), ['teacher.pth']),
    ('checkpoint missing layer4', 'checkpoint file', _checkpoint(_half_backbone), ['basic blocks [2, 2, 2, 0]']),
]

assert len({c[0] for c in CASES}) == len(CASES)
