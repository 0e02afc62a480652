#!/usr/bin/env bash
# The GPU half of issue 7 and tests/test_gpu.py, on a lent GPU machine (the `device` tool).
# Its image has torch, JAX, CuPy, torchvision and optax but not this package's other needs,
# and no network: those travel as wheels in .whl/ (git-ignored).
#
#   bash benchmarks/gpu.sh fetch          here, with a network: the wheels into .whl/
#   bash benchmarks/gpu.sh tests [ARGS]   there, carrying .whl: the GPU tests, then the whole
#                                         suite (JAX arrays land on the GPU) -> $OUT/gpu-tests.txt
#   bash benchmarks/gpu.sh bench [ARGS]   there: python -m benchmarks at the GPU scale
#                                         (issue 7's anchor sizes) -> $OUT/results-gpu.{md,json}
#
# A device command may run 10 minutes: split the benchmark by mode, one call each
# (`bench --mode eager`, `bench --mode compiled`, `bench --mode jit`, each writing under its own
# $OUT), then here `python -m benchmarks --merge A.json B.json C.json --out benchmarks`.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=(array-api-compat==1.16.0 array-api-strict==2.6.1 kornia==0.9.0 kornia-rs==0.2.0 monai==1.6.1)

setup() {
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH="$PWD:/tmp/site"
    : "${OUT:?set OUT to the folder for the results}"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    python3 -c 'import torch, jax; print("torch", torch.__version__, torch.cuda.is_available(), "| jax", jax.__version__, jax.default_backend())'
}

case "${1:-}" in
fetch)
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "${WHEELS[@]}"
    ls .whl
    ;;
tests)
    shift
    setup
    {
        python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py "$@" || echo "tests/test_gpu.py: exit $?"
        LOSSES_BACKENDS=numpy,strict,torch,jax,cupy python3 -m pytest -q -p no:cacheprovider "$@" \
            || echo "the suite: exit $?"
    } 2>&1 | tee "$OUT/gpu-tests.txt"
    ;;
bench)
    shift
    setup
    python3 -m benchmarks --out "$OUT" "$@"
    ;;
*)
    sed -n '2,15p' "$0"
    exit 2
    ;;
esac
