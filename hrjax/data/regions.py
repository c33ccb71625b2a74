"""Face-region maps: the labels that the synthetic generator writes, extraction carries into
the clip store and saliency sums attribution over (one contract, imported by all three).

A region map is `float [S, S, R]`: the share of the time each pixel showed each
region (its channels sum to one). The generator writes one per recording,
`REGIONS_FILE` beside the video at the rendered size; extraction crops and
resizes it the way it crops the frames and stores one per clip.
"""

from __future__ import annotations

NON_SKIN, FOREHEAD, LEFT_CHEEK, RIGHT_CHEEK, OTHER_SKIN = 0, 1, 2, 3, 4
REGION_NAMES = ('non_skin', 'forehead', 'left_cheek', 'right_cheek', 'other_skin')
REGIONS_FILE = 'regions.npy'  # beside a recording's video

# The regions a summary reports, each a set of labels (the two cheeks together).
SUMMARY = {'forehead': (FOREHEAD,), 'cheeks': (LEFT_CHEEK, RIGHT_CHEEK),
           'other_skin': (OTHER_SKIN,), 'non_skin': (NON_SKIN,)}
