#!/usr/bin/env bash
# The GPU path, checked on a lent GPU machine (one command; see README "GPU"):
#   scripts/gpu_check.sh OUT_DIR
# A CompRess (2q) epoch at 224 px, batch 256, ResNet-18 student, MoCo v2 ResNet-50 teacher (a synthetic
# checkpoint in the official MoCo v2 layout: random weights, so throughput only), on the embedded data
# rendered at 224 px: fp32, bf16 autocast + channels-last, fp16 autocast + channels-last. Each run's rows
# (epoch_times_s, images_seen, train_time_s, peak_mem_mb) land in OUT_DIR/<mode>.json; images/s are
# summarised in OUT_DIR/throughput.md (the first epoch includes cuDNN autotuning and is reported apart).
set -euo pipefail
OUT=${1:?usage: scripts/gpu_check.sh OUT_DIR}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export SSLCB_CACHE=${SSLCB_CACHE:-/tmp/sslcb-gpu}
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
TEACHER=$SSLCB_CACHE/moco_v2_r50_synthetic.pth.tar
mkdir -p "$SSLCB_CACHE"
$PY -m tests.helpers.make_teacher_checkpoint --layout moco_v2 --arch resnet50 --width 1 --out "$TEACHER"
WORKERS=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))
for mode in fp32 bf16_cl fp16_cl; do
    case $mode in
        fp32) EXTRA="budget.amp=None budget.channels_last=False" ;;
        bf16_cl) EXTRA="budget.amp=bf16 budget.channels_last=True" ;;
        fp16_cl) EXTRA="budget.amp=fp16 budget.channels_last=True" ;;
    esac
    # shellcheck disable=SC2086
    $PY tools/bench.py --methods compress_2q --suites knn --teacher "$TEACHER" --work-dir "$SSLCB_CACHE/run_$mode" \
        --cfg-options data.image_size=224 student.arch=resnet18 student.width=1.0 budget.epochs=3 \
        budget.batch_size=256 budget.num_workers=$WORKERS budget.optimizer.lr=0.01 \
        method_cfgs.compress_2q.bank_size=4096 evals.raw_pixel_floor=False $EXTRA
    cp "$SSLCB_CACHE/run_$mode/rows.json" "$OUT/$mode.json"
done
$PY - "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
lines = ['| mode | epoch times (s) | images/epoch | images/s (epochs 2+) | peak GPU MiB | knn1 |', '|---|---|---|---|---|---|']
for mode in ('fp32', 'bf16_cl', 'fp16_cl'):
    row = next(r for r in json.loads((out / f'{mode}.json').read_text()) if r['kind'] == 'method')
    per_epoch = row['images_seen'] / len(row['epoch_times_s'])
    steady = row['epoch_times_s'][1:]
    ips = per_epoch * len(steady) / sum(steady)
    lines.append(f"| {mode} | {', '.join(f'{t:.2f}' for t in row['epoch_times_s'])} | {per_epoch:.0f} | {ips:.0f} | "
                 f"{row['peak_mem_mb']:.0f} | {row['knn1_top1']:.1f} |")
(out / 'throughput.md').write_text('\n'.join(lines) + '\n')
print('\n'.join(lines))
PYEOF
