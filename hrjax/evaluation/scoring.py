"""The learned model's scores, compiled once per (model, mesh): every heart against every
video of a split (evaluation), or each clip's own pair (prediction)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import numpy as np

from hrjax.data import clip_store, pipeline
from hrjax.models.pairing import PairingModel
from hrjax.training import distributed, parallel


class Scorer(NamedTuple):
  encode_video: object  # (params, video [B, ...] sharded) -> embeddings, replicated
  encode_heart: object  # (params, heart, rr sharded) -> embeddings, replicated
  similarity: object  # (params, hearts, videos) -> logits [B1, B2]
  pair_scores: object  # (params, video, heart, rr) -> each clip's own-pair logit [B]


@functools.lru_cache(maxsize=8)
def compile_scoring(model: PairingModel, mesh) -> Scorer:
  """jit'd scoring functions of `model`. The encoders take the batch sharded over the
  mesh; `pair_scores` runs where its inputs are (one device, any batch size). Cached per
  (model, mesh): a second evaluation (another split, the benchmark's repeats) reuses them.
  """
  rep, data = parallel.replicated(mesh), parallel.batch_sharded(mesh)
  apply = lambda method: functools.partial(model.apply, method=method)
  return Scorer(
      encode_video=jax.jit(lambda p, v: apply(model.encode_video)({'params': p}, v),
                           in_shardings=(rep, data), out_shardings=rep),
      encode_heart=jax.jit(lambda p, h, rr: apply(model.encode_heart)({'params': p}, h, rr),
                           in_shardings=(rep, data, data), out_shardings=rep),
      similarity=jax.jit(lambda p, h, v: apply(model.similarity)({'params': p}, h, v)),
      pair_scores=jax.jit(lambda p, v, h, rr: apply(model.pair_scores)({'params': p}, v, h, rr)))


def mirrored(video: np.ndarray) -> np.ndarray:
  """Clips `[..., H, W, 3]` mirrored left to right (a face's pulse does not care)."""
  return np.ascontiguousarray(video[..., ::-1, :])


def learned_scores(model: PairingModel, params, split: clip_store.Split, batch_size: int,
                   mesh, mirror: bool = False) -> np.ndarray:
  """`[N, N]` scores of the learned model over a whole split. `mirror`: each score is the
  mean of the video's and its mirror image's (a test-time average of two views)."""
  scorer = compile_scoring(model, mesh)
  hs, vs, ms = [], [], []
  for batch, n in pipeline.eval_batches(split, batch_size):
    b = parallel.put_batch(distributed.process_slice(batch), mesh)
    vs.append(np.asarray(scorer.encode_video(params, b['video']))[:n])
    hs.append(np.asarray(scorer.encode_heart(params, b['heart'], b['rr']))[:n])
    if mirror:
      flipped = dict(batch, video=mirrored(batch['video']))
      m = parallel.put_batch(distributed.process_slice(flipped), mesh)
      ms.append(np.asarray(scorer.encode_video(params, m['video']))[:n])
  h, v = np.concatenate(hs), np.concatenate(vs)
  scores = np.asarray(scorer.similarity(params, h, v))
  if mirror:
    scores = 0.5 * (scores + np.asarray(scorer.similarity(params, h, np.concatenate(ms))))
  return scores


def score_pairs(model: PairingModel, params, video: np.ndarray, heart: np.ndarray,
                rr: np.ndarray, mesh=None, batch: int = 32, mirror: bool = False) -> np.ndarray:
  """Each clip's own-pair score `[N]` over `video [N, ...]`, `heart`, `rr`, `batch` at a time
  (on one device; `mesh`, default every device, only picks the cached scorer); `mirror` as
  in `learned_scores`."""
  pair_scores = compile_scoring(model, mesh or parallel.data_mesh()).pair_scores

  def scores(v):
    return np.concatenate([np.asarray(pair_scores(params, v[i:i + batch], heart[i:i + batch],
                                                  rr[i:i + batch]))
                           for i in range(0, len(v), batch)])

  return 0.5 * (scores(video) + scores(mirrored(video))) if mirror else scores(video)
