"""The rate-only recipe for real recordings: a synthetic `hr` model fine-tuned on real videos
whose heart is one mean rate (bias-eval's skin regions) mixed into every batch.

  python -m hrjax.main --config configs/real_hr.py:pretrain --workdir runs/real-hr-synthetic
  python -m hrjax.main --config configs/real_hr.py --workdir runs/real-hr \
      --config.train.init_from=runs/real-hr-synthetic

`:pretrain` is `configs/real.py:pretrain` (its synthetic faces, their data folder shared)
with the `hr` heart: a rate, no phase, so without what needs a waveform (the Pearson term,
the CHROM channel). docs/transfer.md's figures for it came from the faces of 2026-12-02
(delays drawn from -4 to 2 frames, no web copies).
The fine-tuning stage mixes in `train.mix`, a store of `../shared/data/bias-eval-india`
(roi_mean_hr layout, no crop, every subject in its train split) that `scripts/transfer.py`
extracts, or your own rate-only recordings; its subjects' k-fold is in docs/transfer.md.
"""

from configs import real


def get_config(arg=None):
  c = real.get_config(arg)
  c.model.representation = 'hr'
  c.train.pearson_weight, c.model.classical = 0.0, 'none'
  if arg != 'pretrain':
    c.train.mix = 'data/bias-eval/train-store@3'
  return c
