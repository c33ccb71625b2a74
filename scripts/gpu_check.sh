#!/usr/bin/env bash
# GPU check for a machine with one NVIDIA GPU where JAX with CUDA is installed and
# nothing can be downloaded. Packages JAX's image lacks (grain, ml-collections,
# tensorboardX, ...) travel as wheels in .whl/ (see README, "GPU check").
# Runs the model tests on the GPU and the step benchmark; prints one table at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/hrjax-gpu-check}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/hrjax-site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/hrjax-site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" JAX_PLATFORMS=cuda PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import jax; print('jax', jax.__version__, jax.devices())" | tee -a "$out/gpu.txt"
python3 -m pytest -q -p no:cacheprovider tests/test_layers.py tests/test_model.py \
  tests/test_metrics.py 2>&1 | tee "$out/tests.txt" | tail -3
for cfg in quick gpu; do
  python3 scripts/benchmark.py --config "configs/$cfg.py" --only matmul,train,encode \
    --json "$out/bench-$cfg.json" 2>&1 | grep -v -i warning | tee "$out/bench-$cfg.txt"
done
# The gpu config computes its blocks in bfloat16; the same in float32 for comparison.
python3 scripts/benchmark.py --config configs/gpu.py --only train --config.model.compute_dtype=float32 \
  --json "$out/bench-gpu-float32.json" 2>&1 | grep -v -i warning | tee "$out/bench-gpu-float32.txt"
echo "== hrjax GPU check =="
cat "$out/gpu.txt"; tail -1 "$out/tests.txt"
for cfg in quick gpu gpu-float32; do echo "-- $cfg"; tail -7 "$out/bench-$cfg.txt"; done
