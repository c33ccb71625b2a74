r"""Which parts of the face carry the heartbeat: attribution of the pairing score to pixels.

  python -m hrjax.saliency --workdir runs/demo                 # test split of its store
  python -m hrjax.saliency --workdir runs/demo --store data/ubfc-dev/store --clips 64

Integrated gradients: the score of each clip's own heart-video pair is
attributed to the input pixels along the straight path from a baseline video
(the clip's own frames shuffled in time: the same face, colours and noise, but
nothing that keeps time with the heart) to the clip itself. A pixel's
attribution mass is its net attribution (summed over time and colour) in
absolute value; maps are normalised per clip, averaged over clips and drawn
over the mean face frame. When the store's recordings carry region maps (the
synthetic generator writes `regions.npy`), the mass is summed per face region
(forehead, cheeks, rest of skin, non-skin) beside each region's share of the
image, which is what a region would get if attribution were spread evenly.
Writes WORKDIR/saliency/ (saliency.png, saliency.json) and TensorBoard images.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from absl import app, flags

from hrjax import cli
from hrjax.data import clip_store, frames
from hrjax.data.synthetic import faces
from hrjax.data.synthetic.generate import REGIONS_FILE

# Summary regions: the generator's labels, the two cheeks together.
REGIONS = {'forehead': (faces.FOREHEAD,), 'cheeks': (faces.LEFT_CHEEK, faces.RIGHT_CHEEK),
           'other_skin': (faces.OTHER_SKIN,), 'non_skin': (faces.NON_SKIN,)}


def shuffled_in_time(video, seed: int = 0):
  """The same frames in a random order: every pixel keeps its colours and its noise, but
  nothing in it keeps time with the heart."""
  import jax
  perm = jax.random.permutation(jax.random.key(seed), video.shape[1])
  return video[:, perm]


def integrated_gradients(score_fn: Callable, video, heart, rr, steps: int = 16,
                         seeds: tuple = (0, 1)):
  """`float32 [B, T, H, W, 3]` attributions of `score_fn(video, heart, rr) -> [B]`.

  Baselines: the clip's own frames shuffled in time (one per seed; the
  attributions are averaged over them). A static baseline would not do: the
  score standardises the pulse, so it is blind to the pulse's amplitude and
  any path that only scales the clip's changes leaves it flat. Midpoint Riemann
  sum over `steps` points. Completeness: a clip's attributions sum to about
  score(clip) - mean score(baselines).
  """
  import jax
  import jax.numpy as jnp
  video = jnp.asarray(video, jnp.float32)
  grad = jax.grad(lambda v: score_fn(v, heart, rr).sum())
  total = jnp.zeros_like(video)
  for seed in seeds:
    base = shuffled_in_time(video, seed)
    path = jax.lax.fori_loop(
        0, steps, lambda i, acc, base=base: acc + grad(base + (i + 0.5) / steps * (video - base)),
        jnp.zeros_like(video))
    total = total + (video - base) * path / steps
  return total / len(seeds)


def model_score_fn(model, params) -> Callable:
  """Each clip's own-pair score (logit) under the trained model."""
  import jax.numpy as jnp
  return lambda v, h, rr: jnp.diagonal(model.apply({'params': params}, v, h, rr))


def net_attribution(attr) -> np.ndarray:
  """`[B, H, W]`: what each pixel adds to the score (attribution summed over time, colour)."""
  return np.asarray(attr).sum((1, 4))


def attribution_mass(net: np.ndarray) -> np.ndarray:
  """`[B, H, W]`: |net attribution| per pixel, each clip normalised to sum to 1 (heat maps)."""
  mass = np.abs(net)
  return mass / np.maximum(mass.sum((1, 2), keepdims=True), 1e-30)


def region_maps(header: dict, row: dict) -> np.ndarray | None:
  """`[S, S, R]` share of each generator region under every clip pixel, or None when
  the recording has no region map or the crop moves with the face."""
  path = Path(row['video']).parent / REGIONS_FILE
  settings = header['settings']
  if not path.is_file() or settings['crop'] not in ('center', 'none'):
    return None
  occupancy = np.load(path).astype(np.float32)
  h, w, _ = occupancy.shape
  box = (frames.center_box(h, w, settings['crop_fraction']) if settings['crop'] == 'center'
         else (0, 0, h, w))
  return frames.CropResize(box, settings['size'])(occupancy)  # area resize, any channels


def region_shares(net: np.ndarray, maps: list[np.ndarray | None]) -> dict | None:
  """Per region, over the clips that have region maps:

  score_share: the region's summed attribution over all clips / all attribution
    (by completeness, the share of the score gain over the shuffled baselines that
    the region accounts for; pixel noise cancels inside a region);
  mass_share: the mean per-clip share of |net attribution| (noise counts, so this
    spreads towards the area share);
  area: the region's mean share of the image (what uniform attribution would give).
  """
  rows = [(n, r) for n, r in zip(net, maps) if r is not None]
  if not rows:
    return None
  total = sum(float(n.sum()) for n, _ in rows)
  mass = attribution_mass(np.stack([n for n, _ in rows]))
  out = {}
  for name, labels in REGIONS.items():
    weight = [r[..., list(labels)].sum(-1) for _, r in rows]
    out[name] = dict(
        score_share=float(sum((n * w).sum() for (n, _), w in zip(rows, weight)) / total),
        mass_share=float(np.mean([(m * w).sum() for m, w in zip(mass, weight)])),
        area=float(np.mean([w.mean() for w in weight])))
  return out


def compute(workdir: str | Path, store: str | None = None, split: str | None = None,
            clips: int = 32, steps: int = 16, step: int | None = None, batch: int = 8) -> dict:
  """Attribution maps of up to `clips` clips of a split (spread over its subjects)."""
  import jax

  from hrjax import trained
  cfg, model, params, restored = trained.load(workdir, step)
  store = store or cfg.data.store
  split = split or cfg.data.eval_split
  data = clip_store.open_split(store, split)
  header = clip_store.read_header(store)
  index = np.unique(np.linspace(0, len(data) - 1, min(clips, len(data))).round().astype(int))
  ig = jax.jit(lambda p, v, h, rr: integrated_gradients(model_score_fn(model, p), v, h, rr,
                                                        steps))
  nets, means = [], []
  for i in range(0, len(index), batch):
    sel = index[i:i + batch]
    video = np.asarray(data.video[sel])
    attr = ig(params, video, np.asarray(data.heart[sel]), np.asarray(data.rr[sel]))
    nets.append(net_attribution(attr))
    means.append(video.astype(np.float32).mean(1))
  net, mean_frames = np.concatenate(nets), np.concatenate(means)
  maps = [region_maps(header, data.rows[i]) for i in index]
  return dict(workdir=str(workdir), store=str(store), split=split, checkpoint_step=restored,
              clips=len(index), subjects=sorted({str(data.subjects[i]) for i in index}),
              steps=steps, regions=region_shares(net, maps), score_gain=float(net.sum(
                  (1, 2)).mean()), mass=attribution_mass(net), mean_frames=mean_frames,
              clip_index=index.tolist())


def draw(result: dict, path: Path, examples: int = 6) -> None:
  """Examples (mean frame and its attribution overlaid) and the average map, as a PNG."""
  import matplotlib
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt
  mass, mean_frames = result['mass'], result['mean_frames']
  k = min(examples, len(mass))
  fig, axes = plt.subplots(2, k + 1, figsize=(2.1 * (k + 1), 4.6))
  axes = np.asarray(axes).reshape(2, k + 1)
  for j in range(k):
    i = j * len(mass) // k
    face = mean_frames[i] / 255.0
    axes[0, j].imshow(face)
    axes[1, j].imshow(face)
    axes[1, j].imshow(mass[i], cmap='inferno', alpha=0.6)
    axes[0, j].set_title(f'clip {result["clip_index"][i]}', fontsize=8)
  axes[0, k].imshow(mean_frames.mean(0) / 255.0)
  axes[0, k].set_title('mean of all clips', fontsize=8)
  axes[1, k].imshow(mass.mean(0), cmap='inferno')
  axes[1, k].set_title('mean attribution', fontsize=8)
  for ax in axes.ravel():
    ax.set_axis_off()
  shares = result['regions']
  text = ('share of the score / of |attribution| / of the image: ' + ', '.join(
      f"{n} {v['score_share']:.0%} / {v['mass_share']:.0%} / {v['area']:.0%}"
      for n, v in shares.items())
      if shares else 'no region maps for this store')
  store = Path(result['store'])
  fig.suptitle(f"Integrated gradients, {result['clips']} clips of "
               f"{store.parent.name}/{store.name} [{result['split']}]\n{text}", fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def write(result: dict, out: str | Path) -> Path:
  out = Path(out)
  out.mkdir(parents=True, exist_ok=True)
  draw(result, out / 'saliency.png')
  np.save(out / 'mean_attribution.npy', result['mass'].mean(0).astype(np.float32))
  summary = {k: v for k, v in result.items() if k not in ('mass', 'mean_frames')}
  (out / 'saliency.json').write_text(json.dumps(summary, indent=1))
  return out


FLAGS = flags.FLAGS


def define_flags() -> None:
  """Command-line flags, defined only when run as a program (tests import the module)."""
  flags.DEFINE_string('workdir', None, 'Training workdir (config.json and checkpoints/).')
  flags.DEFINE_string('store', None, "Clip store (default: the checkpoint config's).")
  flags.DEFINE_string('split', None, "Split (default: the config's eval split).")
  flags.DEFINE_integer('clips', 32, 'Clips to attribute, spread over the split.')
  flags.DEFINE_integer('steps', 16, 'Integrated-gradient path steps.')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_string('out', None, 'Output folder (default: WORKDIR/saliency).')


def main(argv):
  cli.start(argv)
  try:
    result = compute(FLAGS.workdir, FLAGS.store, FLAGS.split, FLAGS.clips, FLAGS.steps,
                     FLAGS.step)
  except (FileNotFoundError, ValueError) as e:
    print(f'saliency: error: {e}', file=sys.stderr)
    sys.exit(1)
  out = write(result, FLAGS.out or Path(FLAGS.workdir) / 'saliency')
  from PIL import Image

  from hrjax.writer import MetricWriter
  writer = MetricWriter(Path(FLAGS.workdir) / 'tensorboard')
  image = np.asarray(Image.open(out / 'saliency.png').convert('RGB'))[None]
  writer.write_images(result['checkpoint_step'], {'saliency/integrated_gradients': image})
  if result['regions']:
    writer.write_scalars(result['checkpoint_step'], {
        f'saliency/score_share_{n}': v['score_share'] for n, v in result['regions'].items()})
  writer.close()
  print(f"saliency of {result['clips']} clips ({len(result['subjects'])} subjects) -> {out}")
  if result['regions']:
    print(f"{'region':<12}{'score share':>13}{'|attr| share':>14}{'image area':>12}")
    for name, v in result['regions'].items():
      print(f"{name:<12}{v['score_share']:>13.1%}{v['mass_share']:>14.1%}{v['area']:>12.1%}")


if __name__ == '__main__':
  define_flags()
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
