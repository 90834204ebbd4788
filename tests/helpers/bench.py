"""--cfg-options for test-sized runs of tools/bench.py's entry function (and tools/evaluate.py)."""

# every evaluation but detection (tests/benchmarks/evals/test_detection.py), at a test-sized cost (probe
# epochs ×0.1, 0.1 s of timing, one k-means start)
FAST_EVALS = ['evals.suites=[knn,linear,retrieval,ca,flops,latency]', 'evals.linear.epochs_scale=0.1',
              'evals.latency.max_time_s=0.1', 'evals.ca.nredo=1']
BASE_OPTS = [
    'data.train_per_class=20', 'data.val_per_class=8', 'data.image_size=32',
    'budget.epochs=1', 'budget.batch_size=32', 'budget.log_interval=2',
    'teacher.train.epochs=1', 'teacher.train.batch_size=32', 'teacher.arch.width=0.125',
    'student.width=0.125', 'evals.knn.weighted_k=50',
    *FAST_EVALS,
]
