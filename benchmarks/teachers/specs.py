"""Public SSL teacher checkpoints as data: layouts, detection and architecture inference.

Every released self-supervised checkpoint nests its backbone differently (docs/methods.md#teacher-checkpoints):
MoCo v1/v2 keep the query encoder under ``state_dict`` with the prefix ``module.encoder_q.``, SwAV
ships a raw ``module.``-prefixed dict with a projection head and prototypes, CompRess students hide
under ``model`` next to a pickled ``argparse.Namespace`` ... A `TeacherSpec` describes one such
layout (where the state dict is, which keys are backbone, head, or deliberately ignored) and
`detect_spec` picks the first spec whose layout a loaded checkpoint matches *exactly* (no key left
unexplained), so a file is never half-loaded into a random teacher (the failure mode of the official
CompRess loaders, ``train_student.py`` and ``eval_knn.py``).

`infer_arch` reads the architecture (``dict(arch, width, small_input)`` for
`methods.backbones.build_backbone`) from a backbone state dict's key names and shapes.

This module holds no torch import at module level, so command-line help and config validation can
list the specs (`list_teacher_specs`) without loading torch. Loading itself lives in
`benchmarks.teachers.teacher.load_teacher`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from benchmarks.errors import TeacherError

# Same values as benchmarks.data.datasets.IMAGENET_MEAN / IMAGENET_STD (duplicated so this module imports
# without torch; tests/benchmarks/teachers/test_specs.py asserts they agree).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# name -> (mean, std) of the RGB input a network expects, per channel, on [0, 1] pixel values
INPUT_NORMS = {
    'imagenet': (IMAGENET_MEAN, IMAGENET_STD),
    'unit': ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),  # TF SimCLR: [0, 1] RGB, no mean/std (tonylins/simclr-converter)
}

_NBT = re.compile(r'(^|\.)num_batches_tracked$')
# the first conv of every backbone here: ResNet conv1, AlexNet features.0, MobileNet-V2 features.0.0
STEM_KEY = r'^(conv1|features\.0|features\.0\.0)\.weight$'


@dataclass(frozen=True)
class HeadLayout:
    """State-dict structure of one projection-head kind (keys relative to the head prefix).

    ``linears``: prefixes of the Linear layers in order (dims are read from their weight shapes);
    ``keys``: every key the head has; BatchNorm ``num_batches_tracked`` counters may be absent (they
    are unused in eval mode and some converters drop them).
    """
    kind: str
    description: str
    linears: tuple[str, ...]
    keys: tuple[str, ...]

    @property
    def required(self) -> frozenset:
        return frozenset(k for k in self.keys if not _NBT.search(k))


def _bn(prefix: str, affine: bool = True) -> tuple[str, ...]:
    stats = (f'{prefix}running_mean', f'{prefix}running_var', f'{prefix}num_batches_tracked')
    return ((f'{prefix}weight', f'{prefix}bias') if affine else ()) + stats


HEAD_LAYOUTS = {h.kind: h for h in (
    HeadLayout('linear', 'Linear(in, out) (MoCo v1 fc, facebookresearch/moco moco/builder.py)', ('',), ('weight', 'bias')),
    HeadLayout('mlp', 'Linear(in, hidden)-ReLU-Linear(hidden, out) (MoCo v2 fc.0/fc.2, facebookresearch/moco moco/builder.py)',
               ('0.', '2.'), ('0.weight', '0.bias', '2.weight', '2.bias')),
    HeadLayout('mocov3_projector', 'Linear(no bias)-BN-ReLU-Linear(no bias)-BN(affine=False) (facebookresearch/moco-v3 moco/builder.py)',
               ('0.', '3.'), ('0.weight',) + _bn('1.') + ('3.weight',) + _bn('4.', affine=False)),
    HeadLayout('swav_projection', 'Linear-BN1d-ReLU-Linear, Linear biases kept (SwAV projection_head, facebookresearch/swav src/resnet50.py)',
               ('0.', '3.'), ('0.weight', '0.bias') + _bn('1.') + ('3.weight', '3.bias')),
)}


@dataclass(frozen=True)
class TeacherSpec:
    """One public checkpoint layout (docs/methods.md#teacher-checkpoints), as data.

    * ``container``: top-level keys tried in order to reach the state dict; ``''`` (or an empty
      tuple) means the file itself is the state dict.
    * ``required_top_keys``: top-level keys that must exist (e.g. CompRess' ``'opt'``).
    * ``backbone_prefix``: prefix of the backbone keys, or a tuple of alternatives (the first one
      that some key starts with is used; ``''`` matches every key).
    * ``head_prefix`` / ``head_kind``: the projection head carried by the file (a key of
      `HEAD_LAYOUTS`), or None. Head keys are taken before backbone keys.
    * ``ignore_prefixes``: keys present in such files and deliberately not loaded (momentum
      encoders, queues, prototypes).
    * ``drop_keys``: backbone-relative prefixes dropped (classifiers, a student's own MLP).
    * ``expected_missing``: regexes of backbone/head keys this layout lacks; tolerated when loading.
    * ``detect_requires`` / ``detect_forbids``: regexes some key under the backbone prefix (relative,
      dropped keys included) must / none may match for autodetection: the layout's signature, e.g.
      BYOL's classifier without BN counters. Every spec requires a stem key of this project's
      backbones (`STEM_KEY`) so a generic prefix does not swallow a foreign layout.
    * ``autodetect``: False for layouts that are key-identical to another (converted SimCLR): such a
      spec is only used when named explicitly.
    * ``input_norm``: key of `INPUT_NORMS`; ``feature``: which output is distilled by default
      (informational, each method chooses its own): ``'backbone'`` everywhere, as CompRess does with
      MoCo and SwAV teachers (``train_student.py``); SEED distils the ``'head'`` instead (``seed/builder.py``).
    """
    name: str
    description: str
    source: str
    container: tuple[str, ...] = ()
    required_top_keys: tuple[str, ...] = ()
    backbone_prefix: str | tuple[str, ...] = ''
    head_prefix: str | None = None
    head_kind: str | None = None
    ignore_prefixes: tuple[str, ...] = ()
    drop_keys: tuple[str, ...] = ()
    expected_missing: tuple[str, ...] = ()
    detect_requires: tuple[str, ...] = (STEM_KEY,)
    detect_forbids: tuple[str, ...] = ()
    autodetect: bool = True
    input_norm: str = 'imagenet'
    feature: str = 'backbone'

    def __post_init__(self):
        if (self.head_kind is None) != (self.head_prefix is None):
            raise ValueError(f'teacher spec {self.name}: head_prefix and head_kind go together')
        if self.head_kind is not None and self.head_kind not in HEAD_LAYOUTS:
            raise ValueError(f'teacher spec {self.name}: head_kind {self.head_kind!r} is not one of '
                             f'{sorted(HEAD_LAYOUTS)}')
        if self.input_norm not in INPUT_NORMS:
            raise ValueError(f'teacher spec {self.name}: input_norm {self.input_norm!r} is not one of '
                             f'{sorted(INPUT_NORMS)}')
        if self.feature not in ('backbone', 'head'):
            raise ValueError(f"teacher spec {self.name}: feature must be 'backbone' or 'head'")

    @property
    def backbone_prefixes(self) -> tuple[str, ...]:
        p = self.backbone_prefix
        return (p,) if isinstance(p, str) else tuple(p)

    @property
    def containers(self) -> tuple[str, ...]:
        return self.container or ('',)

    def is_expected_missing(self, key: str) -> bool:
        return any(re.search(p, key) for p in self.expected_missing)


_MOCO_IGNORE = ('module.encoder_k.', 'module.queue_ptr', 'module.queue')
_FB = 'dl.fbaipublicfiles.com'

TEACHER_SPECS: dict[str, TeacherSpec] = {s.name: s for s in (
    TeacherSpec(
        'compress_student', 'CompRess student: student.state_dict() of a DataParallel model under "model", '
        'next to a pickled argparse.Namespace "opt" (needs --teacher-allow-globals argparse.Namespace); fc dropped',
        'Google Drive links in the UMBCvision/CompRess README', container=('model',), required_top_keys=('opt',),
        backbone_prefix='module.', drop_keys=('fc.', 'classifier.')),
    TeacherSpec(
        'seed_student', "SEED student: module.student.* (its MLP fc.* dropped); the teacher and queue are ignored",
        'README links of jacobswan1/SEED', container=('state_dict',), backbone_prefix='module.student.',
        ignore_prefixes=('module.teacher.', 'module.queue_ptr', 'module.queue'), drop_keys=('fc.',)),
    TeacherSpec(
        'moco_v3', 'MoCo v3 ResNet: module.base_encoder.* with the projector as fc (Linear-BN-ReLU-Linear-BN); '
        'momentum encoder and predictor ignored',
        f'{_FB}/moco-v3/r-50-{{100,300,1000}}ep/r-50-*ep.pth.tar', container=('state_dict',),
        backbone_prefix='module.base_encoder.', head_prefix='module.base_encoder.fc.', head_kind='mocov3_projector',
        ignore_prefixes=('module.momentum_encoder.', 'module.predictor.')),
    TeacherSpec(
        'moco_v2', 'MoCo v2: module.encoder_q.* with the MLP head fc.0/fc.2; key encoder and queue ignored '
        '(also DisCo-/SEED-hosted MoCo v2 teachers, any depth)',
        f'{_FB}/moco/moco_checkpoints/moco_v2_{{200,800}}ep/moco_v2_*ep_pretrain.pth.tar', container=('state_dict',),
        backbone_prefix='module.encoder_q.', head_prefix='module.encoder_q.fc.', head_kind='mlp',
        ignore_prefixes=_MOCO_IGNORE),
    TeacherSpec(
        'moco_v1', 'MoCo v1: module.encoder_q.* with a linear fc head; key encoder and queue ignored',
        f'{_FB}/moco/moco_checkpoints/moco_v1_200ep/moco_v1_200ep_pretrain.pth.tar', container=('state_dict',),
        backbone_prefix='module.encoder_q.', head_prefix='module.encoder_q.fc.', head_kind='linear',
        ignore_prefixes=_MOCO_IGNORE),
    TeacherSpec(
        'swav', 'SwAV / DeepCluster-v2 / SeLa-v2: raw state dict, module.* with projection_head.{0,1,3}; '
        'prototypes ignored. RN50-w2/w4/w5 load as resnet50 width 2/4/5 (SwAV widens every stage, as here)',
        f'{_FB}/deepcluster/swav_800ep_pretrain.pth.tar etc.', backbone_prefix='module.',
        head_prefix='module.projection_head.', head_kind='swav_projection', ignore_prefixes=('module.prototypes.',)),
    TeacherSpec(
        'simclr_v1_converted', 'SimCLR v1 converted by tonylins/simclr-converter: {"state_dict": torchvision keys '
        'incl. the supervised fc} expecting [0,1] RGB input (no mean/std). Key-identical to a torchvision '
        'classifier checkpoint, so it is never auto-detected: force it with --teacher-spec simclr_v1_converted',
        'google-research/simclr TF checkpoints -> tonylins/simclr-converter', container=('state_dict',),
        drop_keys=('fc.',), autodetect=False, input_norm='unit'),
    TeacherSpec(
        'byol_converted', 'BYOL converted by ajtejankar/byol-convert: raw torchvision keys incl. fc, no '
        'projector/predictor and no BatchNorm num_batches_tracked (pre-2019 torchvision model-zoo files share '
        'this layout and load identically)',
        'deepmind-research/byol pretrain_res50x1.pkl -> ajtejankar/byol-convert', drop_keys=('fc.',),
        expected_missing=(_NBT.pattern,), detect_requires=(STEM_KEY, r'(^|\.)running_mean$', r'^fc\.weight$'),
        detect_forbids=(_NBT.pattern,)),
    TeacherSpec(
        'torchvision', 'generic backbone state dict with torchvision key names, raw or under "state_dict"/"model", '
        'optionally "module."-prefixed; fc./classifier. dropped (a tonylins-converted SimCLR file looks the same: '
        'force --teacher-spec simclr_v1_converted for its [0,1] input)',
        'torchvision / any plain export (e.g. this project\'s exported backbones)',
        container=('state_dict', 'model', ''), backbone_prefix=('module.', ''), drop_keys=('fc.', 'classifier.')),
)}


def list_teacher_specs() -> list[str]:
    """Spec names in detection order (most specific first)."""
    return list(TEACHER_SPECS)


def describe_teacher_specs() -> str:
    """One line per spec, for --help and error messages."""
    return '\n'.join(f'  {s.name:20s} {s.description}' for s in TEACHER_SPECS.values())


def get_spec(name: str) -> TeacherSpec:
    if name not in TEACHER_SPECS:
        raise TeacherError(f'unknown teacher spec {name!r}; pass --teacher-spec (teacher.spec in the config) as one '
                           f'of: {", ".join(TEACHER_SPECS)}, or leave it out to detect the layout from the file.')
    return TEACHER_SPECS[name]


# ---------------------------------------------------------------------------------------------------
# splitting a checkpoint into backbone / head / ignored keys


@dataclass
class SplitState:
    """A checkpoint's state dict split by a spec. ``backbone``/``head`` keys are relative to their
    prefixes; ``dropped`` holds backbone-relative names of dropped keys, ``ignored`` full names of
    ignored keys, ``leftover`` full names of keys that fit no part of the layout."""
    spec: TeacherSpec
    container: str
    backbone_prefix: str
    backbone: dict = field(default_factory=dict)
    head: dict = field(default_factory=dict)
    ignored: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    leftover: list = field(default_factory=list)
    under_prefix: int = 0  # keys starting with backbone_prefix, whatever they were classified as
    state: dict = field(default_factory=dict, repr=False)  # the state dict reached through the container


class LayoutMismatch(Exception):
    """Internal: why a spec does not fit a checkpoint (one short reason)."""


def _is_state_dict(obj) -> bool:
    import torch
    return isinstance(obj, dict) and bool(obj) and all(isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items())


def _examples(keys, n: int = 5) -> str:
    keys = list(keys)
    more = f' (+{len(keys) - n} more)' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def _container(spec: TeacherSpec, obj) -> tuple[str, dict]:
    if not isinstance(obj, dict):
        raise LayoutMismatch(f'the file holds a {type(obj).__name__}, not a dict')
    missing_top = [k for k in spec.required_top_keys if k not in obj]
    if missing_top:
        raise LayoutMismatch(f'no top-level key {missing_top[0]!r}')
    for key in spec.containers:
        state = obj if key == '' else obj.get(key)
        if _is_state_dict(state):
            return key, state
    if spec.containers == ('',):
        raise LayoutMismatch(f'the file is not a raw state dict (top-level keys: {_examples(map(str, obj))})')
    wanted = ' or '.join('the file itself' if k == '' else repr(k) for k in spec.containers)
    raise LayoutMismatch(f'no state dict of tensors under {wanted} (top-level keys: {_examples(map(str, obj))})')


def split_state(spec: TeacherSpec, obj) -> SplitState:
    """Split a loaded checkpoint by ``spec``. Raises `LayoutMismatch` only when the state dict itself
    cannot be reached (container / required top-level keys); everything else is reported in the
    result (empty backbone, leftovers) so the caller decides how strict to be."""
    container, state = _container(spec, obj)
    prefix = next((p for p in spec.backbone_prefixes if any(k.startswith(p) for k in state)), spec.backbone_prefixes[0])
    split = SplitState(spec, container, prefix, state=state)
    for key, value in state.items():
        split.under_prefix += key.startswith(prefix)
        if spec.head_prefix is not None and key.startswith(spec.head_prefix):
            split.head[key[len(spec.head_prefix):]] = value
        elif key.startswith(spec.ignore_prefixes):
            split.ignored.append(key)
        elif key.startswith(prefix):
            rel = key[len(prefix):]
            if rel.startswith(spec.drop_keys):
                split.dropped.append(rel)
            else:
                split.backbone[rel] = value
        else:
            split.leftover.append(key)
    return split


def guess_backbone_prefix(keys) -> str | None:
    """The shortest prefix under which ``keys`` hold a backbone stem (`STEM_KEY`), e.g.
    ``'module.encoder_q.'`` for MoCo keys; None if no key ends like a stem. Used to tell the user
    where the backbone really is when a forced spec's prefix matches nothing."""
    found = []
    for key in keys:
        m = re.match(r'^(.*?)(conv1|features\.0|features\.0\.0)\.weight$', key)
        if m:
            found.append(m.group(1))
    return min(found, key=len) if found else None


def head_structure_problem(kind: str, head: dict) -> str | None:
    """None if ``head`` (relative keys) has exactly the structure of ``kind``, else a short reason."""
    layout = HEAD_LAYOUTS[kind]
    keys = set(head)
    if not keys:
        return f'no {kind} head keys'
    if not (layout.required <= keys <= set(layout.keys)):
        return f'head keys [{_examples(sorted(keys))}] are not a {kind} head [{_examples(layout.keys)}]'
    if any(getattr(head[p + 'weight'], 'ndim', 0) != 2 for p in layout.linears):
        return f'the {kind} head Linear weights are not 2-D'
    return None


def head_kind_of(head: dict) -> str | None:
    """The first head kind whose structure ``head`` (a head's own state dict) has, or None."""
    return next((kind for kind in HEAD_LAYOUTS if head_structure_problem(kind, head) is None), None)


def head_dims(kind: str, head: dict) -> tuple:
    """``(in_dim, hidden_dim, out_dim)`` from the Linear weight shapes (``hidden_dim`` None for 'linear')."""
    linears = [head[p + 'weight'] for p in HEAD_LAYOUTS[kind].linears]
    first, last = linears[0], linears[-1]
    hidden = None if len(linears) == 1 else int(first.shape[0])
    return int(first.shape[1]), hidden, int(last.shape[0])


def match_layout(spec: TeacherSpec, obj) -> SplitState:
    """``split_state`` plus the detection rules: at least one backbone key, no leftover key, the head
    (if any) present with its kind's structure, the spec's signature regexes. Raises
    `LayoutMismatch` with one short reason."""
    split = split_state(spec, obj)
    if not split.backbone:
        prefix = ' or '.join(repr(p) for p in spec.backbone_prefixes)
        if split.under_prefix:
            raise LayoutMismatch(f'no backbone key under {prefix} (only head, ignored or dropped keys)')
        raise LayoutMismatch(f'no key starts with {prefix}')
    if split.leftover:
        raise LayoutMismatch(f'{len(split.leftover)} key(s) fit no part of the layout, e.g. {_examples(split.leftover, 3)}')
    if spec.head_kind is not None:
        problem = head_structure_problem(spec.head_kind, split.head)
        if problem:
            raise LayoutMismatch(f'{problem} under {spec.head_prefix!r}')
    under_prefix = list(split.backbone) + split.dropped
    for pattern in spec.detect_requires:
        if not any(re.search(pattern, k) for k in under_prefix):
            what = 'backbone stem key (conv1 / features.0)' if pattern == STEM_KEY else f'key matching {pattern!r}'
            raise LayoutMismatch(f'no {what} under {split.backbone_prefix!r}')
    for pattern in spec.detect_forbids:
        hit = next((k for k in under_prefix if re.search(pattern, k)), None)
        if hit is not None:
            raise LayoutMismatch(f'has {hit!r}, which this layout lacks')
    return split


def detect_spec(obj, path='checkpoint') -> TeacherSpec:
    """The first spec of `TEACHER_SPECS` (in order) whose layout ``obj`` matches exactly.

    Specs with ``autodetect=False`` (converted SimCLR: key-identical to a torchvision classifier
    checkpoint, which is detected as 'torchvision') are skipped. Raises `TeacherError` listing every
    spec tried with one reason each and how to force a spec.
    """
    reasons = []
    for spec in TEACHER_SPECS.values():
        if not spec.autodetect:
            reasons.append(f'{spec.name}: never auto-detected (same keys as a torchvision checkpoint); '
                           f'force it with --teacher-spec {spec.name}')
            continue
        try:
            match_layout(spec, obj)
            return spec
        except LayoutMismatch as exc:
            reasons.append(f'{spec.name}: {exc}')
    tried = '\n  '.join(reasons)
    raise TeacherError(
        f'{path}: the checkpoint layout matches none of the known teacher specs. Tried, in order:\n  {tried}\n'
        f'If the file is one of these layouts with small differences, pass --teacher-spec NAME (teacher.spec in '
        f'the config; one of {", ".join(TEACHER_SPECS)}) to load it with that spec and see exactly which keys '
        f'differ; otherwise re-save its backbone as a plain torchvision-named state dict.')


# ---------------------------------------------------------------------------------------------------
# architecture inference

_RESNETS = {('basic', (2, 2, 2, 2)): 'resnet18', ('basic', (3, 4, 6, 3)): 'resnet34',
            ('bottleneck', (3, 4, 6, 3)): 'resnet50', ('bottleneck', (3, 4, 23, 3)): 'resnet101',
            ('bottleneck', (3, 8, 36, 3)): 'resnet152'}
_ARCH_HINT = ("set the architecture explicitly with teacher.checkpoint_arch=dict(arch=..., width=..., small_input=...) "
              "in the config (--cfg-options teacher.checkpoint_arch.arch=NAME teacher.checkpoint_arch.width=W "
              "teacher.checkpoint_arch.small_input=False)")


def _scale(channels: int, width: float) -> int:
    # same rounding as methods.backbones.base.scale (kept local: no torch import here)
    return max(1, int(round(channels * width)))


def _solve_width(pairs: list[tuple[int, int]]) -> float | None:
    """A width ``w`` with ``_scale(base, w) == observed`` for every ``(base, observed)`` pair, or None.

    Tries the exact ratio of the largest base first (so 16 channels of 64 give 0.25, not 0.2505),
    then the middle of the interval every pair allows."""
    candidates = [obs / base for base, obs in sorted(pairs, reverse=True)[:1]]
    lo = max((obs - 0.5) / base for base, obs in pairs)
    hi = min((obs + 0.5) / base for base, obs in pairs)
    if lo < hi:
        candidates.append((lo + hi) / 2)
    for w in candidates:
        if w > 0 and all(_scale(base, w) == obs for base, obs in pairs):
            return w
    return None


def _shape(state: dict, key: str, why: str):
    if key not in state:
        raise TeacherError(f'the backbone weights look like {why} but have no {key!r}; they are not one of this '
                           f'project\'s backbones: {_ARCH_HINT}.')
    return tuple(state[key].shape)


def _infer_resnet(state: dict) -> dict:
    blocks = []
    for i in range(1, 5):
        idx = {int(m.group(1)) for k in state for m in [re.match(rf'layer{i}\.(\d+)\.', k)] if m}
        blocks.append(max(idx) + 1 if idx else 0)
    kind = 'bottleneck' if 'layer1.0.conv3.weight' in state else 'basic'
    key = (kind, tuple(blocks))
    if key not in _RESNETS:
        raise TeacherError(f'the teacher backbone is a ResNet with {kind} blocks {blocks}, which is not one of this '
                           f'project\'s backbones ({", ".join(sorted(set(_RESNETS.values())))}, alexnet, '
                           f'mobilenet_v2); use a teacher of one of those architectures or add the architecture to '
                           f'methods/backbones.')
    out, _, kh, _ = _shape(state, 'conv1.weight', 'a ResNet')
    if kh not in (3, 7):
        raise TeacherError(f'the ResNet stem conv1 has a {kh}x{kh} kernel; this project builds 7x7 (ImageNet stem) '
                           f'or 3x3 (small_input); {_ARCH_HINT}.')
    inner = _shape(state, 'layer1.0.conv1.weight', 'a ResNet')[0]
    last = _shape(state, 'layer4.0.conv3.weight' if kind == 'bottleneck' else 'layer4.0.conv2.weight', 'a ResNet')[0]
    expect_last = 8 * out * (4 if kind == 'bottleneck' else 1)
    if inner != out or last != expect_last:
        raise TeacherError(f'the ResNet widths (stem {out}, layer1 inner {inner}, layer4 out {last}) are not a uniform '
                           f'width multiplier (as in wide_resnet50_2, whose inner widths are doubled); {_ARCH_HINT}.')
    return dict(arch=_RESNETS[key], width=out / 64, small_input=kh == 3)


def _infer_alexnet(state: dict) -> dict:
    shapes = {k: _shape(state, k, 'the CompRess AlexNet') for k in
              ('features.0.weight', 'features.3.weight', 'features.6.weight', 'features.8.weight',
               'features.10.weight', 'feats.0.weight')}
    pairs = [(64, shapes['features.0.weight'][0]), (192, shapes['features.3.weight'][0]),
             (384, shapes['features.6.weight'][0]), (256, shapes['features.8.weight'][0]),
             (256, shapes['features.10.weight'][0]), (4096, shapes['feats.0.weight'][0])]
    kh = shapes['features.0.weight'][2]
    width = _solve_width(pairs)
    if width is None or kh not in (3, 11):
        raise TeacherError(f'the AlexNet channels {[o for _, o in pairs]} (stem kernel {kh}) do not come from one width '
                           f'multiplier of this project\'s AlexNet (64-192-384-256-256, 4096); {_ARCH_HINT}.')
    return dict(arch='alexnet', width=width, small_input=kh == 3)


# (base channels, key holding that stage's output channels) of torchvision's MobileNetV2 features
_MOBILENET_STAGES = ((32, 'features.0.0.weight'), (16, 'features.1.conv.1.weight'), (24, 'features.3.conv.2.weight'),
                     (32, 'features.6.conv.2.weight'), (64, 'features.10.conv.2.weight'),
                     (96, 'features.13.conv.2.weight'), (160, 'features.16.conv.2.weight'),
                     (320, 'features.17.conv.2.weight'), (1280, 'features.18.0.weight'))


def _mobilenet_channels(width: float) -> list[int]:
    from torchvision.models._utils import _make_divisible  # the rounding torchvision's MobileNetV2 uses
    out = [_make_divisible(base * width, 8) for base, _ in _MOBILENET_STAGES[:-1]]
    return out + [_make_divisible(1280 * max(1.0, width), 8)]


def mobilenet_width(state: dict) -> float:
    """A width multiplier reproducing every MobileNet-V2 stage width of ``state`` (several widths can
    give identical shapes, since torchvision rounds channels to multiples of 8: the simplest one wins)."""
    observed = [_shape(state, key, 'torchvision MobileNet-V2')[0] for _, key in _MOBILENET_STAGES]
    candidates = [obs / base for base, obs in zip([b for b, _ in _MOBILENET_STAGES], observed)]
    candidates = [i / 100 for i in range(5, 401)] + [i / 1000 for i in range(10, 4001)] + candidates
    for w in candidates:
        if _mobilenet_channels(w) == observed:
            return w
    raise TeacherError(f'the MobileNet-V2 stage widths {observed} do not come from one torchvision width multiplier; '
                       f'{_ARCH_HINT}.')


def infer_arch(backbone_state: dict) -> dict:
    """``dict(arch, width, small_input)`` of this project's backbone that ``backbone_state`` (relative
    keys, as split by a spec) belongs to, read from key names and weight shapes.

    * ResNet-18/34/50: block counts per stage (Bottleneck if ``layer1.0.conv3`` exists),
      ``width = conv1 out channels / 64``, ``small_input`` = 3x3 ``conv1`` (7x7 otherwise). Deeper
      ResNets and non-uniform widths (wide_resnet) raise: they are not backbones of this project.
    * AlexNet (CompRess layout ``features.*`` + ``feats.*``): the width reproducing all six layer
      widths, ``small_input`` = 3x3 stem.
    * MobileNet-V2: the width is exact, but ``small_input`` only changes a stride (no weight shape),
      so it cannot be read from weights: raises `TeacherError` naming the width to put in teacher.checkpoint_arch.

    Anything else raises `TeacherError` asking for teacher.checkpoint_arch. Only shapes are read (meta tensors work).
    """
    keys = set(backbone_state)
    if 'conv1.weight' in keys and any(k.startswith('layer1.') for k in keys):
        return _infer_resnet(backbone_state)
    if 'feats.0.weight' in keys and 'features.0.weight' in keys:
        return _infer_alexnet(backbone_state)
    if 'features.0.0.weight' in keys and 'features.1.conv.1.weight' in keys:
        width = mobilenet_width(backbone_state)
        raise TeacherError(
            f'the teacher backbone is a MobileNet-V2 of width {width:g}, but whether it was trained with the '
            f'small-input stem (stride 1) cannot be read from its weights; set teacher.checkpoint_arch=dict(arch="mobilenet_v2", '
            f'width={width:g}, small_input=False or True) in the config.')
    raise TeacherError(f'cannot tell the teacher architecture from its backbone keys ({_examples(sorted(keys))}); '
                       f'it is not a ResNet-18/34/50, AlexNet or MobileNet-V2 as built here: {_ARCH_HINT}.')
