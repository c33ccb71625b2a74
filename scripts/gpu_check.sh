#!/usr/bin/env bash
# GPU check for a machine with one NVIDIA GPU where JAX with CUDA is installed and
# nothing can be downloaded. Packages JAX's image lacks (grain, ml-collections,
# tensorboardX, imageio-ffmpeg, threadpoolctl, ...) travel as wheels in .whl/
# (docs/performance.md, "Running the GPU check").
# Runs the model tests on the GPU and the step benchmark, with the PyTorch twin beside the
# step where PyTorch is installed (on the GPU when it sees one: cuDNN, channels-last, bf16
# autocast for the gpu config); prints one table at the end.
#
#   bash scripts/gpu_check.sh           # tests and benchmark, a few minutes
#   bash scripts/gpu_check.sh --train   # and the training loop against the step (clips kept
#                                       # on the GPU, and sent from the host), and the quick
#                                       # demo trained in float32 and in bfloat16
#
# With --train the quick synthetic dataset is generated and extracted on the CPU (in its
# own process, JAX on the CPU) while the tests run, and is ready before anything is timed.
set -uo pipefail
cd "$(dirname "$0")/.."
train=0
[ "${1:-}" = --train ] && train=1
out=${OUT:-/tmp/hrjax-gpu-check}
work=${WORK:-/tmp/hrjax-gpu-runs}
mkdir -p "$out" "$work"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/hrjax-site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/hrjax-site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" JAX_PLATFORMS=cuda PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import jax; print('jax', jax.__version__, jax.devices())" | tee -a "$out/gpu.txt"
if [ $train = 1 ]; then
  (SECONDS=0; JAX_PLATFORMS=cpu nice -n 10 python3 -m hrjax.main --config configs/quick.py \
     --workdir "$work/data" --mode data > "$out/data.txt" 2>&1
   echo "data: exit $?, ${SECONDS} s" >> "$out/data.txt") &
  data_pid=$!
fi
python3 -m pytest -q -p no:cacheprovider tests/test_layers.py tests/test_model.py \
  tests/test_metrics.py 2>&1 | tee "$out/tests.txt" | tail -3
[ $train = 1 ] && wait $data_pid && tail -1 "$out/data.txt"
bench() {  # name, then benchmark flags
  local name=$1; shift
  python3 scripts/benchmark.py "$@" --json "$out/bench-$name.json" 2>&1 | grep -v -i warning \
    | tee "$out/bench-$name.txt"
}
for cfg in quick gpu; do
  bench "$cfg" --config "configs/$cfg.py" --only matmul,copy,train,torch,encode
done
# The gpu config computes its blocks in bfloat16; the same in float32 for comparison.
bench gpu-float32 --config configs/gpu.py --only train --config.model.compute_dtype=float32
# The blocks as the CPU's channel-first matmuls instead of cuDNN convolutions.
bench gpu-channels-first --config configs/gpu.py --only train \
  --config.model.block_layout=channels_first
if [ $train = 1 ]; then
  # the training loop's clips/s against the step's, on the store made above (the config's):
  # clips kept on the GPU ('auto'), and sent from the host
  for mode in auto off; do
    bench "training-$mode" --config configs/quick.py --only train,training \
      --config.data.on_device=$mode
  done
  for dtype in float32 bfloat16; do
    SECONDS=0
    python3 -m hrjax.main --config configs/quick.py --workdir "$work/quick-$dtype" \
      --config.model.compute_dtype=$dtype > "$out/train-$dtype.log" 2>&1
    echo "train $dtype: exit $?, ${SECONDS} s (train, evaluate)" | tee "$out/train-$dtype.txt"
    cat "$work/quick-$dtype/eval/report.txt" >> "$out/train-$dtype.txt"
  done
fi
echo "== hrjax GPU check =="
cat "$out/gpu.txt"; tail -1 "$out/tests.txt"
for name in quick gpu gpu-float32 gpu-channels-first; do echo "-- $name"; tail -12 "$out/bench-$name.txt"; done
if [ $train = 1 ]; then
  tail -1 "$out/data.txt"
  for mode in auto off; do echo "-- training-$mode"; grep -E '^training loop' "$out/bench-training-$mode.txt"; done
  for dtype in float32 bfloat16; do head -7 "$out/train-$dtype.txt"; done
fi
