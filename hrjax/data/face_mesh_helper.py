"""MediaPipe's FaceMesh over frames piped in: run by `face_mesh.FaceMesh` in a Python of its own.

This file is a script for the helper virtualenv (`make faces`: mediapipe 0.10.14, whose
wheel holds the BlazeFace detector and the 468-landmark FaceMesh model). mediapipe
cannot join hrjax's own environment (it requires protobuf < 5, grain >= 5.28), so the
two talk through a pipe. It imports numpy and mediapipe only, never hrjax.

Protocol, little-endian: each request is (height, width: uint32) then height*width*3
bytes of RGB; a height of 0 ends the helper. Each reply is (count: uint32) then count*2
float32: the landmarks' (x, y) in the frame's pixels, count 0 where no face was found.
"""

import struct
import sys

import numpy as np


def main() -> None:
  import mediapipe as mp  # the helper's own environment
  mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                         refine_landmarks=False, min_detection_confidence=0.5,
                                         min_tracking_confidence=0.5)
  read, write = sys.stdin.buffer.read, sys.stdout.buffer.write
  write(b'ready\n')
  sys.stdout.buffer.flush()
  while True:
    height, width = struct.unpack('<II', read(8))
    if height == 0:
      return
    frame = np.frombuffer(read(height * width * 3), np.uint8).reshape(height, width, 3)
    found = mesh.process(frame).multi_face_landmarks
    if not found:
      write(struct.pack('<I', 0))
    else:
      points = np.array([(p.x * width, p.y * height) for p in found[0].landmark], np.float32)
      write(struct.pack('<I', len(points)) + points.astype('<f4').tobytes())
    sys.stdout.buffer.flush()


if __name__ == '__main__':
  main()
