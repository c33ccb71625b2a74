"""GPU-sized run: longer, larger clips (160 frames of 72x72), wider network, bigger batch,
(2+1)D blocks in bfloat16 with float32 master weights on a GPU (faster than float32 there), in
float32 on a CPU (XLA's CPU backend converts bfloat16 instead of computing in it);
docs/performance.md.

  python -m hrjax.main --config configs/gpu.py --workdir runs/gpu
  python -m hrjax.main --config configs/gpu.py --workdir runs/gpu32 \
      --config.model.compute_dtype=float32
"""

from configs import default


def get_config(arg=None):
  c = default.get_config(arg)
  c.data.root = c.data.root.replace('/raw', '-gpu/raw')
  c.data.store = c.data.store.replace('/store', '-gpu/store')
  c.data.clip_frames = 160
  c.data.size = 72
  c.data.train_stride = 40
  c.data.eval_stride = 160
  c.synthetic.num_subjects = 200
  c.synthetic.duration_s = 30.0
  c.synthetic.size = 144
  c.model.channels = (16, 32, 64)
  c.model.compute_dtype = 'auto'  # bfloat16 on a GPU, float32 on a CPU
  c.train.batch_size = 64
  c.train.steps = 5000
  c.data.workers = 4
  return c
