"""A face tracker's detections in a thread of their own, while the caller's thread crops.

Detection (OpenCV's cascade, or the FaceMesh helper's pipe) lets go of Python's
lock while it works, so one video's detections and its cropping can use two
cores. Detections still run one after another in frame order (each search starts
at the face before), and their results are recorded by the caller's thread only,
so the boxes are exactly those of detecting in line (`FaceTracker.see`).
"""

from __future__ import annotations

import queue
import threading

import numpy as np

from hrjax.data import face, yuv

JOBS_AHEAD = 8  # sampled frames waiting for the detector before the caller waits too


class BackgroundDetections:
  """`see(frame)` as `FaceTracker.see`, the detection in a thread; `finish()` records every
  detection still running. Use as a context manager: leaving stops the thread."""

  def __init__(self, tracker: face.FaceTracker):
    self.tracker = tracker
    self._jobs: queue.Queue = queue.Queue(JOBS_AHEAD)
    self._results: queue.Queue = queue.Queue()
    self._pending = 0
    self._thread = threading.Thread(target=self._run, name='face-detection', daemon=True)
    self._thread.start()

  def _run(self) -> None:
    failed = False
    while (frame := self._jobs.get()) is not None:
      if failed:  # keep taking frames so that the caller never waits on a full queue
        continue
      try:
        self._results.put((True, self.tracker.detect_on(frame)))
      except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
        self._results.put((False, e))
        failed = True

  def see(self, frame: np.ndarray | yuv.Yuv420) -> None:
    if self.tracker.sample():
      self._jobs.put(frame)
      self._pending += 1
    self._record(wait=False)

  def finish(self) -> None:
    """Every frame seen so far has its detection recorded."""
    self._record(wait=True)

  def _record(self, wait: bool) -> None:
    while self._pending and (wait or not self._results.empty()):
      ok, hit = self._results.get()
      self._pending -= 1
      if not ok:
        raise hit
      self.tracker.record(hit)

  def __enter__(self) -> 'BackgroundDetections':
    return self

  def __exit__(self, *exc) -> None:
    while True:  # drop frames not yet taken, then ask the thread to stop
      try:
        self._jobs.get_nowait()
      except queue.Empty:
        break
    self._jobs.put(None)
    self._thread.join()
