"""Holding a face still inside its crop: the face's jitter within a held box, measured by phase
correlation of consecutive crops (Kuglin & Hines 1975; OpenCV's `cv2.phaseCorrelate`, sub-pixel)
and undone by shifting each crop back (`cv2.warpAffine`, Lanczos), before PhysNet reads it.

Why: the crop box holds while the face moves less than `hold_fraction` of its width
(pipeline.face: a box that follows the jitter by whole pixels steps the crop's colour), so a face
that shakes by a few pixels moves its skin texture across PhysNet's input, and PhysNet reads
normalised frame differences, which the texture's motion moves as a pulse does. Measured on the
two real vitallens clips under a ±6 px shake at 0.5-4 Hz (`bench/perturbed_real.py`; docs/BENCHMARKS.md,
"a shaken face held still in PhysNet's crops"): the released UBFC-rPPG and PURE PhysNets read 8 of 16
shaken videos within 5 bpm before and 16 of 16 held still on draws 0-3, 36 of 40 over ten draws;
every other condition reads as before.

What is undone, and where:
- The steps are chained frame to frame within a clip (a face turning changes its template, not its
  neighbour); a step the correlation does not trust (a response under MIN_RESPONSE: a blink, a
  hand, a cut) or one larger than MAX_STEP of the crop (the tracker's own move, which the box
  follows) counts as none. Each step is read once: its sub-pixel part reads short (by a fifth to a
  half at 0.1-0.5 px), but reading the rest again on the crop moved back now and then returned a
  wild step of several pixels, which the chain carried.
- The path's straight line through the clip is taken out (`scipy.signal.detrend`): each step is
  biased by a few hundredths of a pixel on a noisy crop, which chained over 128 frames drifts a
  still rendered face by 9 px, and a face's slow drift is the tracker's to follow.
- Only a clip whose face jitters is moved (its steps' rms at least JITTER_FLOOR): on a still face
  the measured path is the estimate's own noise, and undoing it costs more than it gives (all clips
  moved: the released PURE PhysNet under a wandering lamp 6.1 → 16.5 bpm MAE over 8 real videos).
  On draws 0-3 every clip of a still face (every change of light and camera but the shake) steps
  0.05-0.15 px a frame, every shaken one 0.20-0.34.
- The classic methods' skin patches are left as they are: their mean over a thousand pixels of
  skin barely moves with the face, and moving them back by measured sub-pixel shifts added more
  than it took away (POS on a real clip under a side light 1.7 → 6.6 bpm off, under noise + JPEG
  0.3 → 8.8).
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.signal

MIN_RESPONSE = 0.3  # phaseCorrelate's peak: ≥ 0.74 between frames of the real clips, 0.05-0.35 unrelated
MAX_STEP = 0.1  # of the crop's width in one frame (7 px of 72): a face crossing its crop in a third of a second
# A clip is held still only where its face jitters: the rms of its steps (crop pixels a frame, both
# axes) at least this. Chosen on draws 0-3 of bench/perturbed_real.py (module doc).
JITTER_FLOOR = 0.175


def hold_still(crops: np.ndarray) -> np.ndarray:
    """A clip's crops (T, H, W, 3 uint8) with the face's jitter undone, or as they are where its
    steps are under JITTER_FLOOR (module doc)."""
    steps = crop_steps(crops)
    if step_rms(steps) < JITTER_FLOOR:
        return crops
    return undo_shifts(crops, path_shifts(steps))


def step_rms(steps: np.ndarray) -> float:
    """How much a clip's face jitters: the rms of its steps (T, 2) after the first, both axes."""
    return float(np.sqrt(np.mean(steps[1:] ** 2)))


def path_shifts(steps: np.ndarray) -> np.ndarray:
    """Steps (T, 2) summed into a path, less its straight line: how far each crop's content lies
    from its straight path through the clip (module doc)."""
    return scipy.signal.detrend(np.cumsum(steps, axis=0), axis=0)


def crop_steps(crops: np.ndarray) -> np.ndarray:
    """float64 (T, 2): how far each crop's content (T, H, W, 3 uint8) lies from the one before's,
    x and y in its pixels (`cv2.phaseCorrelate` of consecutive grey crops; 0 for the first, and
    for a step not trusted)."""
    grey = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) for image in crops]
    height, width = grey[0].shape
    window = cv2.createHanningWindow((width, height), cv2.CV_32F)
    steps = np.zeros((len(crops), 2))
    for i in range(1, len(crops)):
        step, response = cv2.phaseCorrelate(grey[i - 1], grey[i], window)
        if response >= MIN_RESPONSE and max(abs(step[0]), abs(step[1])) <= MAX_STEP * width:
            steps[i] = step
    return steps


def undo_shifts(images: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each image (T, H, W, C) moved back by its shift (T, 2; x, y in its pixels): Lanczos, the
    edge uncovered filled by reflection. Bilinear blurs a frame more the nearer its shift is to half
    a pixel, and that blur, changing from frame to frame, is a change PhysNet reads: with it the
    released UBFC-rPPG PhysNet read 2 of 11 perturbed real videos 22-27 bpm off that Lanczos reads
    within 1 (docs/BENCHMARKS.md, "a shaken face held still in PhysNet's crops")."""
    return np.stack([_moved_back(image, shift) for image, shift in zip(images, shifts)])


def _moved_back(image: np.ndarray, shift) -> np.ndarray:
    height, width = image.shape[:2]
    return cv2.warpAffine(image, np.float32([[1, 0, -shift[0]], [0, 1, -shift[1]]]), (width, height),
                          flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
