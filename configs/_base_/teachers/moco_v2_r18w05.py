# The teacher: a checkpoint (--teacher PATH) or, when none is given, a MoCo v2 model trained once on
# the suite's data and cached under $SSLCB_CACHE/teachers/<key of this section + data + seed>.
teacher = dict(
    checkpoint=None,
    # a checkpoint's layout (docs/methods.md#teacher-checkpoints) is detected from its keys; `spec` forces one
    # (--teacher-spec NAME; python -m tests.helpers.make_teacher_checkpoint --list shows them)
    spec=None,
    # pickled classes trusted in the checkpoint file (--teacher-allow-globals), e.g. ['argparse.Namespace']
    # for CompRess student releases; everything else loads with torch.load(weights_only=True) only
    allow_globals=[],
    # a checkpoint's architecture is read from its weights; set arch (and width, small_input) where the
    # weights cannot tell (MobileNet-V2's small_input): --cfg-options teacher.checkpoint_arch.arch=NAME ...
    checkpoint_arch=dict(arch=None, width=1.0, small_input=False),
    required=False,            # True: a suite that must not train its own stand-in teacher (paper suites)
    # the published pre-training cost of the checkpoint (GPU-hours, its source in the teacher config), shown
    # next to every distilled row (benchmarks/reporting/cost.py); None for teachers trained here (their time
    # is measured) or when no figure was published
    published_gpu_hours=None,
    description='',            # what the required checkpoint is, for the error message
    # teacher sharing (benchmarks/teachers/outputs.py): the teacher's outputs on the training stream are
    # computed by the first method and reused by every later method with the same augmentation;
    # outputs are rounded to output_dtype with or without sharing, so results do not depend on it.
    # storage 'memory' (on the training device) or 'disk' (memory-mapped, $SSLCB_CACHE/teacher_outputs)
    share_outputs=True,
    output_dtype='float16',
    share_storage='memory',
    # the architecture and recipe of the MoCo v2 teacher trained (and cached) when no checkpoint is given
    arch=dict(arch='resnet18', width=0.5, small_input=False),
    train=dict(
        method='moco_v2',
        method_cfg=dict(queue_size=2048),
        epochs=50,
        batch_size=64,
        optimizer=dict(type='SGD', lr=0.015, momentum=0.9, weight_decay=5e-4),  # see budgets/cpu_tiny.py
        schedule=dict(type='cosine', warmup_epochs=0),
        num_workers=0,
        log_interval=10,
        checkpoint_interval=2,    # a killed run resumes the teacher from its last checkpoint
    ),
)
