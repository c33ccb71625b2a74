"""A recording as an adapter finds it: which video, which heart signal, whose, and what
else the dataset says about it."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hrjax.data import heart_series as heart
from hrjax.errors import InputError

# What an adapter may say about a recording (`Recording.meta`): each key the clips of an
# evaluated split carry becomes a breakdown of the report (2AFC per level).
METADATA_KEYS = ('task', 'session', 'scenario', 'source', 'light', 'motion', 'exercise',
                 'skin_color', 'gender', 'glasser', 'hair_cover', 'makeup', 'felt_emotion',
                 'felt_arousal', 'felt_valence')
VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mkv', '.mov', '.m4v', '.webm', '.mpg', '.mpeg', '.wmv')


@dataclasses.dataclass(frozen=True)
class Recording:
  subject: str
  recording: str
  video: Path  # a video file, a folder of image frames, or a MATLAB file holding frames
  heart_file: Path
  load_heart: Callable[[], heart.HeartSeries | None]  # times on the video's clock (s)
  frame_times: Callable[[], np.ndarray | None] = lambda: None  # per-frame timestamps, if known
  offset_s: float = 0.0  # heart time = video time + offset_s
  regions: Path | None = None  # a region map (`regions.py`) of the video, where there is one
  unlabeled: bool = False  # no heart signal (load_heart gives None): clips for train.unlabeled
  # What the dataset says about the recording (task, lighting, skin tone...): copied into
  # each of its clips' rows, so that reports can break accuracy down by it.
  meta: dict = dataclasses.field(default_factory=dict)


def find_video(folder: Path) -> Path:
  videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
  if not videos:
    raise InputError(folder, f'no video file ({", ".join(VIDEO_EXTENSIONS)}) in this folder')
  named = [p for p in videos if p.stem == 'vid']
  return (named or videos)[0]


def numbered_folders(root: Path, pattern: str, missing: str) -> list[Path]:
  """The folders directly in `root` whose names match `pattern` (a regular expression), in
  the order of the numbers in their names; an InputError naming `root` with `missing`
  (what the layout expects) when there are none."""
  found = sorted((p for p in Path(root).iterdir() if p.is_dir() and re.fullmatch(pattern, p.name)),
                 key=lambda p: ([int(x) for x in re.findall(r'\d+', p.name)], p.name))
  if not found:
    raise InputError(root, missing)
  return found
