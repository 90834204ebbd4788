#!/usr/bin/env bash
# Install the detection-transfer stack into a Python environment: mmcv 2.1.0 (with its compiled ops),
# mmdet 3.3.0 and pycocotools (requirements-detection.txt).
#
#   scripts/install_detection.sh [PYTHON]          # default PYTHON: .venv/bin/python
#
# 1. If PYTHON already imports mmcv 2.1.x with mmcv.ops, mmdet 3.3.x and pycocotools, nothing is done:
#    a machine with a working OpenMMLab install is not forced through the build.
# 2. mmcv 2.1.0 (the newest release mmdet 3.3.0 accepts) ships only as a source archive, and its
#    setup.py compiles the ops with -std=c++17, which the torch 2.14 headers reject; the archive is
#    built once with -std=c++20 (about 12 minutes on 2 cores; CUDA ops too when a GPU is visible) and
#    the wheel is cached in $SSLCB_CACHE/wheels (default ~/.cache/ssl-compress-bench/wheels), so later
#    installs take seconds. The build uses the environment's own torch and setuptools
#    (--no-build-isolation: mmcv's setup.py imports both).
# 3. The install is checked by importing mmcv.ops (the compiled extension) and mmdet.
set -euo pipefail

PY=${1:-.venv/bin/python}
MMCV_VERSION=2.1.0
HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SSLCB_CACHE:-$HOME/.cache/ssl-compress-bench}/wheels

check() {
    "$PY" - <<'PYCHECK' 2>/dev/null
import mmcv, mmcv.ops, mmdet, pycocotools  # noqa: F401  (mmcv.ops loads the compiled extension)
assert mmcv.__version__.startswith('2.1.'), mmcv.__version__
assert mmdet.__version__.startswith('3.3.'), mmdet.__version__
print(f'detection stack OK: mmcv {mmcv.__version__} (ops compiled), mmdet {mmdet.__version__}')
PYCHECK
}

if check; then
    exit 0
fi

mkdir -p "$CACHE"
# One build at a time per cache (two installs, or torchrun ranks, share it): the second waits for the
# first's wheel instead of building its own. The wheel is built outside the cache and renamed into it,
# so a killed build never leaves a partial wheel under the name later installs look for.
exec 9>"$CACHE/mmcv-$MMCV_VERSION.lock"
if ! flock -n 9; then
    echo "waiting for another process that is building the mmcv wheel ($CACHE/mmcv-$MMCV_VERSION.lock) ..."
    flock 9
fi
wheel=$(ls "$CACHE"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    echo "building mmcv $MMCV_VERSION from source with -std=c++20 (about 12 minutes on 2 cores) ..."
    "$PY" -m pip download --quiet --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$work"
    tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
    src="$work/mmcv-$MMCV_VERSION"
    # the only change to mmcv: the C++ standard its ops are compiled with
    sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    grep -q -- '-std=c++20' "$src/setup.py"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$PY" -m pip wheel --quiet --no-build-isolation --no-deps -w "$work/wheelhouse" "$src"
    built=$(ls "$work"/wheelhouse/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)
    cp "$built" "$CACHE/.$(basename "$built").$$.tmp"
    sync "$CACHE/.$(basename "$built").$$.tmp"
    mv "$CACHE/.$(basename "$built").$$.tmp" "$CACHE/$(basename "$built")"
    wheel="$CACHE/$(basename "$built")"
fi
# the local mmcv wheel first, so nothing below can make pip fetch (and try to build) another mmcv
"$PY" -m pip install --quiet --no-deps "$wheel"
"$PY" -m pip install --quiet -r "$HERE/requirements-detection.txt"
check || { echo "error: mmcv/mmdet installed but 'import mmcv.ops, mmdet' fails; see the output above" >&2; exit 1; }
