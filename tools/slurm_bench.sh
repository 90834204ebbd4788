#!/usr/bin/env bash
# Run tools/bench.py on a Slurm cluster, one task per GPU (OpenMMLab's slurm_train.sh convention).
#
#   tools/slurm_bench.sh PARTITION JOB_NAME GPUS [tools/bench.py arguments ...]
#   GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS="--time=72:00:00" \
#       tools/slurm_bench.sh gpu compress-r18 16 --config paper_compress_resnet18 \
#       --data-root /datasets/imagenet --teacher moco_v2_800ep_pretrain.pth.tar
#
# Each task runs the same command; benchmarks/engine/distributed.py turns Slurm's SLURM_PROCID / SLURM_NTASKS /
# SLURM_LOCALID / SLURM_JOB_NODELIST into the process group (NCCL on GPUs; master = the first node,
# port MASTER_PORT, default 29500). budget.batch_size is the global batch, split over the GPUS tasks.
# Rank 0 evaluates and writes the run folder (use a --work-dir on a shared file system).
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME GPUS [tools/bench.py arguments ...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
GPUS=$3
shift 3
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
export MASTER_PORT=${MASTER_PORT:-29500}
cd "$(dirname "$0")/.."

# shellcheck disable=SC2086  # SRUN_ARGS is a list of options
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "${PYTHON}" -u tools/bench.py "$@"
