"""Which parts of the face carry the heartbeat: attribution of the pairing score to pixels.

Integrated gradients: the score of each clip's own heart-video pair is
attributed to the input pixels along the straight path from a baseline video
(the clip's own frames shuffled in time: the same face, colours and noise, but
nothing that keeps time with the heart) to the clip itself. A pixel's
attribution mass is its net attribution (summed over time and colour) in
absolute value; maps are normalised per clip, averaged over clips and drawn
over the mean face frame. Where the store holds region maps (`data/regions.py`;
extraction carries them in from sources that have them, as the synthetic
generator's recordings do), the attribution is summed per face region
(forehead, cheeks, rest of skin, non-skin) beside each region's share of the
image, which is what a region would get if attribution were spread evenly.
`python -m hrjax.saliency` is the command line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hrjax.data import clip_store, regions
from hrjax.evaluation import figures
from hrjax.training import restore


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
  """Each clip's own-pair score (logit) under the trained model: `PairingModel.pair_scores`."""
  return lambda v, h, rr: model.apply({'params': params}, v, h, rr, method=model.pair_scores)


def net_attribution(attr) -> np.ndarray:
  """`[B, H, W]`: what each pixel adds to the score (attribution summed over time, colour)."""
  return np.asarray(attr).sum((1, 4))


def attribution_mass(net: np.ndarray) -> np.ndarray:
  """`[B, H, W]`: |net attribution| per pixel, each clip normalised to sum to 1 (heat maps)."""
  mass = np.abs(net)
  return mass / np.maximum(mass.sum((1, 2), keepdims=True), 1e-30)


def region_shares(net: np.ndarray, maps: list[np.ndarray | None],
                  names: list[str] | tuple[str, ...] = regions.REGION_NAMES,
                  subjects: list[str] | None = None, n_boot: int = 1000,
                  groups: dict | None = None) -> dict | None:
  """Per region, over the clips that have region maps:

  score_share: the region's summed attribution over all clips / all attribution
    (by completeness, the share of the score gain over the shuffled baselines that
    the region accounts for; pixel noise cancels inside a region), and with
    `subjects` its 95% interval over subjects resampled with replacement
    (score_share_ci: a subject brings all its clips);
  mass_share: the mean per-clip share of |net attribution| (noise counts, so this
    spreads towards the area share);
  area: the region's mean share of the image (what uniform attribution would give).
  `groups` (name -> labels) replaces the regions of `regions.SUMMARY`.
  """
  keep = [k for k, r in enumerate(maps) if r is not None]
  if not keep:
    return None
  net_kept = net[keep]
  mass = attribution_mass(net_kept)
  total = net_kept.sum((1, 2))  # [N]
  who = None if subjects is None else np.unique(np.asarray(subjects)[keep], return_inverse=True)[1]
  out = {}
  for name, channels in regions.summary_channels(names, groups).items():
    weight = np.stack([maps[k][..., channels].sum(-1) for k in keep])  # [N, S, S]
    inside = (net_kept * weight).sum((1, 2))
    out[name] = dict(score_share=float(inside.sum() / total.sum()),
                     mass_share=float((mass * weight).sum((1, 2)).mean()),
                     area=float(weight.mean()))
    if who is not None:
      out[name]['score_share_ci'] = _subject_interval(inside, total, who, n_boot)
  return out


def _subject_interval(part: np.ndarray, whole: np.ndarray, who: np.ndarray, n_boot: int,
                      seed: int = 0) -> list[float]:
  """95% percentile interval of sum(part) / sum(whole) over subjects resampled."""
  k = who.max() + 1
  part_s, whole_s = np.bincount(who, part, k), np.bincount(who, whole, k)
  draws = np.random.default_rng(seed).integers(0, k, (n_boot, k))
  ratios = part_s[draws].sum(1) / whole_s[draws].sum(1)
  return [float(v) for v in np.percentile(ratios, [2.5, 97.5])]


def compute(workdir: str | Path, store: str | None = None, split: str | None = None,
            clips: int = 32, steps: int = 16, step: int | None = None, batch: int = 8,
            only_subjects: list[str] | None = None) -> dict:
  """Attribution maps of up to `clips` clips of a split (spread over its subjects, or over
  the clips of `only_subjects`: a model's held-out subjects)."""
  import jax
  cfg, model, params, restored = restore.load(workdir, step)
  store = store or cfg.data.store
  split = split or cfg.data.eval_split
  clip_store.check_labeled(store, 'explained (saliency pairs each video with its heart)')
  data = clip_store.open_split(store, split)
  pool = (np.arange(len(data)) if only_subjects is None else
          np.flatnonzero(np.isin(data.subjects, [str(x) for x in only_subjects])))
  if not len(pool):
    raise ValueError(f'{store} [{split}]: no clips of subjects {only_subjects}')
  index = pool[np.unique(np.linspace(0, len(pool) - 1, min(clips, len(pool))).round()
                         .astype(int))]
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
  maps = ([np.asarray(data.regions[i], np.float32) for i in index] if data.regions is not None
          else [None] * len(index))
  names = clip_store.read_header(store).get('region_names') or regions.REGION_NAMES
  subjects = [str(data.subjects[i]) for i in index]
  return dict(workdir=str(workdir), store=str(store), split=split, checkpoint_step=restored,
              clips=len(index), subjects=sorted(set(subjects)), steps=steps,
              regions=region_shares(net, maps, names, subjects),
              score_gain=float(net.sum((1, 2)).mean()), region_names=list(names),
              clip_subjects=subjects, net=net, maps=maps, mass=attribution_mass(net),
              mean_frames=mean_frames, clip_index=index.tolist())


def draw(result: dict, examples: int = 6):
  """Examples (mean frame and its attribution overlaid) and the average map: a Figure."""
  plt = figures.pyplot()
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
  return fig


def write(result: dict, out: str | Path) -> np.ndarray:
  """`saliency.png`, `mean_attribution.npy` and `saliency.json` in `out`; returns the PNG's
  pixels `uint8 [H, W, 3]` (for TensorBoard)."""
  out = Path(out)
  out.mkdir(parents=True, exist_ok=True)
  image = figures.save_png(draw(result), out / 'saliency.png')
  np.save(out / 'mean_attribution.npy', result['mass'].mean(0).astype(np.float32))
  summary = {k: v for k, v in result.items() if k not in ('mass', 'mean_frames', 'net', 'maps')}
  (out / 'saliency.json').write_text(json.dumps(summary, indent=1))
  return image
