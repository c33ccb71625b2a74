"""`hrjax.predict` on files: order invariance, aggregation over clips, clear errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hrjax import predict
from hrjax.errors import InputError


def _files(cfg):
  root = Path(cfg.data.root)
  return root / 'subject1' / 'ground_truth.txt', [str(root / f'subject{s}' / 'vid.mp4')
                                                   for s in (1, 2, 3)]


def test_scores_do_not_depend_on_the_order_of_the_videos(tiny_run):
  cfg, workdir, _ = tiny_run
  heart, videos = _files(cfg)
  a = predict.predict(workdir, str(heart), videos)
  b = predict.predict(workdir, str(heart), videos[::-1])
  score = lambda r: {v['video']: v['score'] for v in r['videos']}
  assert score(a) == score(b) and a['chosen'] == b['chosen']
  assert a['heart_kind'] == 'ubfc' and a['checkpoint_step'] == 6
  probs = np.array([v['probability'] for v in a['videos']])
  assert probs.sum() == pytest.approx(1.0) and np.all(probs > 0)
  for v in a['videos']:  # 4 s at 30 fps: three 32-frame clips, averaged
    assert v['clips'] == 3 and v['score'] == pytest.approx(np.mean(v['clip_scores']), abs=1e-3)
  best = max(a['videos'], key=lambda v: v['score'])
  assert a['chosen'] == best['video']


def test_unusable_inputs_are_named(tiny_run, tmp_path):
  cfg, workdir, _ = tiny_run
  heart, videos = _files(cfg)
  with pytest.raises(InputError, match='only a rate'):
    predict.predict(workdir, '72', videos[:2])
  with pytest.raises(InputError, match='nothing.mp4: video file not found'):
    predict.predict(workdir, str(heart), [videos[0], str(tmp_path / 'nothing.mp4')])
  with pytest.raises(InputError, match='the same video is given twice'):
    predict.predict(workdir, str(heart), [videos[0], videos[0]])
  with pytest.raises(FileNotFoundError, match='no checkpoint of step 4 .*saved steps: 3, 6'):
    predict.predict(workdir, str(heart), videos[:2], step=4)


def test_command_line_prints_a_line_and_writes_json(tiny_run, tmp_path):
  cfg, workdir, _ = tiny_run
  heart, videos = _files(cfg)
  out = tmp_path / 'p.json'
  proc = subprocess.run([sys.executable, '-m', 'hrjax.predict', f'--workdir={workdir}',
                         f'--heart={heart}', f'--videos={",".join(videos[:2])}',
                         f'--out={out}', '--progress=false'], capture_output=True, text=True,
                        cwd=Path(__file__).resolve().parents[1],
                        env={'JAX_PLATFORMS': 'cpu', 'PATH': '/usr/bin:/bin'})
  assert proc.returncode == 0, proc.stderr
  assert 'ground_truth.txt: most likely' in proc.stdout
  assert json.loads(out.read_text())['chosen'] in videos[:2]


def test_the_checkpoints_predict_crop_decides_how_a_users_videos_are_cropped(tiny_run, tmp_path):
  import shutil
  cfg, workdir, _ = tiny_run
  heart, videos = _files(cfg)
  assert predict.predict(workdir, str(heart), videos[:2])['crop'] == 'center'  # data.crop
  copy = tmp_path / 'run'
  shutil.copytree(workdir, copy)
  saved = json.loads((copy / 'config.json').read_text())
  saved['data']['predict_crop'] = 'none'  # as configs/real.py sets 'face' for real faces
  (copy / 'config.json').write_text(json.dumps(saved))
  result = predict.predict(copy, str(heart), videos[:2])
  assert result['crop'] == 'none'
  assert predict.predict(copy, str(heart), videos[:2], crop='center')['crop'] == 'center'
  # The whole frame, not the centre: other pixels, other scores.
  assert result['videos'][0]['score'] != predict.predict(
      workdir, str(heart), videos[:2])['videos'][0]['score']
