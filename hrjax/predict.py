r"""Which of these videos shows the person whose heart this is? A trained model on your files.

  python -m hrjax.predict --workdir runs/demo --heart subject5/ground_truth.txt \
      --videos subject5/vid.mp4,subject9/vid.mp4
  python -m hrjax.predict --workdir runs/mine --heart p01.bdf --channel EXG1-EXG2 \
      --start_code 11 --videos a.mp4,b.mp4,c.mp4 --out prediction.json

Each video is decoded and cropped the way the checkpoint's config says
(`data.predict_crop`, else the crop of its training store; or --crop), cut
into clips, and every clip is scored against the heart signal at the same
moments (heart time = video time + --offset_s; a heart file's own clock counts from
its first sample, so a heart and a video that started together need no offset, as in
extraction). A video's score is the mean of
its clips' scores; the probability is a softmax over the candidates.
Each video is scored on its own, so the order they are given in cannot matter.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from absl import app, flags

from hrjax import cli
from hrjax.data import extract, heart_files
from hrjax.errors import InputError

FLAGS = flags.FLAGS


def predict(workdir: str | Path, heart_source: str, videos: list[str], *, kind: str = 'auto',
            channel=None, start_code=None, end_code=None, fs=None, offset_s: float = 0.0,
            crop: str | None = None, step: int | None = None, progress: bool = False) -> dict:
  """Scores, probabilities and the chosen video; raises InputError on unusable input."""
  from hrjax.evaluation import scoring
  from hrjax.training import restore
  if not videos:
    raise InputError(workdir, 'no videos given')
  if len(set(videos)) != len(videos):
    raise InputError(videos[0], 'the same video is given twice')
  cfg = restore.load_config(workdir)
  settings = extract.ExtractSettings.from_config(cfg.data)
  crop = crop or cfg.data.get('predict_crop') or settings.crop
  settings = dataclasses.replace(settings, crop=crop)
  series, kind = heart_files.read_heart(heart_source, kind, channel, start_code, end_code, fs)
  if cfg.model.representation == 'waveform' and series.pulse is None:
    raise InputError(heart_source, 'this model pairs heart waveforms, and the file holds '
                     'only a rate: use a model trained with the hr representation')
  clips = {}  # decoded before JAX starts its threads (ffmpeg runs in a subprocess)
  for video in videos:
    clips[video] = extract.video_clips(video, series, heart_source, settings, offset_s, progress)
    if not clips[video]:
      raise InputError(video, f'no {settings.clip_frames}-frame clip that the heart signal '
                       'covers with a valid rate')
  _, (_, model, params, restored) = restore.restore(cfg, workdir, step)
  results = []
  for video in videos:  # one compiled scorer for all videos (per batch shape)
    v, h, rr = (np.stack([getattr(c, k) for c in clips[video]]) for k in ('video', 'heart', 'rr'))
    scores = scoring.score_pairs(model, params, v, h, rr,
                                 mirror=cfg.eval.mirror_average)
    results.append(dict(video=str(video), score=float(scores.mean()), clips=len(scores),
                        clip_scores=[round(float(s), 4) for s in scores],
                        clip_starts_s=[c.row['start_s'] for c in clips[video]]))
  logits = np.array([r['score'] for r in results])
  probs = np.exp(logits - logits.max())
  probs /= probs.sum()
  for r, p in zip(results, probs):
    r['probability'] = float(p)
  best = int(np.argmax(logits))
  return dict(heart=str(heart_source), heart_kind=kind, workdir=str(workdir),
              checkpoint_step=restored, representation=model.representation,
              crop=settings.crop, offset_s=offset_s, chosen=results[best]['video'],
              videos=results)


def summary_line(result: dict) -> str:
  chosen = next(r for r in result['videos'] if r['video'] == result['chosen'])
  others = ', '.join(f"{r['video']} {r['probability']:.2f}"
                     for r in result['videos'] if r is not chosen)
  return (f"{Path(result['heart']).name}: most likely {chosen['video']} "
          f"(p = {chosen['probability']:.2f} over {len(result['videos'])} videos, "
          f"{chosen['clips']} clips" + (f'; others: {others}' if others else '') + ')')


def define_flags() -> None:
  """Command-line flags, defined only when run as a program (tests import the module)."""
  flags.DEFINE_string('workdir', None, 'Training workdir holding config.json and checkpoints/.')
  flags.DEFINE_string('heart', None, 'Heart file: EDF/BDF ECG, a PPG table, a rate (file or a '
                      'number of bpm), a UBFC ground_truth.txt or a PURE JSON.')
  flags.DEFINE_list('videos', None, 'Candidate videos (files or folders of frames).')
  flags.DEFINE_enum('heart_kind', 'auto', heart_files.SOURCE_KINDS,
                    'How to read --heart; auto: by its extension and name.')
  flags.DEFINE_string('channel', None, 'EDF/BDF channel (or a pair such as EXG1-EXG2).')
  flags.DEFINE_string('start_code', None, 'ECG: trigger code where the window starts.')
  flags.DEFINE_string('end_code', None, 'ECG: trigger code where the window ends.')
  flags.DEFINE_float('fs', None, 'Sample rate of a one-column PPG table (Hz).')
  flags.DEFINE_float('offset_s', 0.0, 'Heart time = video time + offset_s, for every video.')
  flags.DEFINE_enum('crop', None, ['face', 'center', 'none'],
                    "Crop (default: the checkpoint config's data.predict_crop, else "
                    'data.crop; the demo model crops the centre of synthetic faces: give '
                    '--crop face for real face videos).')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_string('out', None, 'Write the JSON result here (default: print it).')
  flags.DEFINE_bool('progress', True, 'Show progress bars while decoding.')


def main(argv):
  cli.start(argv)
  with cli.user_errors('predict'):
    result = predict(FLAGS.workdir, FLAGS.heart, FLAGS.videos, kind=FLAGS.heart_kind,
                     channel=FLAGS.channel, start_code=FLAGS.start_code,
                     end_code=FLAGS.end_code, fs=FLAGS.fs, offset_s=FLAGS.offset_s,
                     crop=FLAGS.crop, step=FLAGS.step, progress=FLAGS.progress)
  print(summary_line(result))
  text = json.dumps(result, indent=1)
  if FLAGS.out:
    Path(FLAGS.out).write_text(text + '\n')
  else:
    print(text)


if __name__ == '__main__':
  define_flags()
  flags.mark_flags_as_required(['workdir', 'heart', 'videos'])
  app.run(main)
