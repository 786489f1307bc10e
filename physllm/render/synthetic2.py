"""A second synthetic renderer, written apart from the first (synthetic.py / face.py / ppg.py) so
that a model can be trained on one generator and tested on the other.

What differs from the first renderer, on purpose:
- **Pulse**: beats placed at times from an autoregressive RR-interval series (an IPFM-style
  beat generator, e.g. Mateo & Laguna, "Analysis of heart rate variability in the presence of
  ectopic beats using the heart timing signal", IEEE TBME 2003), each beat a log-normal upstroke
  and a decaying reflected wave; not a phase-driven two-Gaussian template.
- **Skin**: colour from a two-layer Beer–Lambert model (melanin in the epidermis, haemoglobin in
  the dermis; absorption ratios after Jacques, "Optical properties of biological tissues: a
  review", Phys. Med. Biol. 2013), so the pulse's RGB signature follows haemoglobin's absorption
  and the skin tone, instead of one fixed signature; the face is drawn with OpenCV primitives
  (other proportions, glasses on some faces), its pulse strongest where the drawn face is lit.
- **Scene**: a room with a window, shelves and a screen whose content changes, not a wall.
- **Camera**: scene in linear light through a centre-weighted auto-exposure loop (towards 18%
  grey) that hunts and moves its gain in 1/3-EV steps, auto-white-balance that hunts, mains
  flicker (100/120 Hz, deepest in the blue) aliased into the pulse band by the frame clock and
  read out by a rolling shutter (bands that roll), shot and read noise, the sRGB gamma, and MJPG
  at a low quality.

Written in UBFC-rPPG's layout with a metadata.json like the first renderer's, read back by
physllm/data_catalog/synthetic.py as dataset "synthetic2".
"""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from physllm.data_catalog import ubfc_rppg
from physllm.data_catalog.synthetic import METADATA_NAME
from physllm.render.ppg import PPGTrace
from physllm.render.synthetic import write_ground_truth, write_video
from physllm.progress import progress_bar

DATASET = "synthetic2"
# Melanin volume fraction of the epidermis, light to dark (Jacques 2013: 1–3% light, 18–43% dark; the darkest here is what the Haar detector still finds).
MELANIN = {"light": 0.03, "medium": 0.12, "brown": 0.25, "dark": 0.32}
# Every Fitzpatrick type on its own (bench/detection.py renders each), over Jacques' ranges up to
# his darkest epidermis (43%). A condition may name any key of MELANIN_ANY; the default plan cycles MELANIN.
MELANIN_ANY = MELANIN | {"I": 0.02, "II": 0.05, "III": 0.1, "IV": 0.16, "V": 0.26, "VI": 0.4}
# Relative absorption per camera channel (R, G, B): melanin falls with wavelength; oxy-
# haemoglobin peaks in the green (~540–577 nm) and is low in the red (Jacques 2013, Fig. 5, 11).
MU_MELANIN = np.array([1.0, 1.6, 2.6], dtype=np.float32)
MU_BLOOD = np.array([0.15, 1.0, 0.8], dtype=np.float32)
BLOOD_FRACTION = 0.3  # dermal blood in absorption units at rest (sets the skin's redness)
KEY_LIGHT = 2.2  # a lamp on the face: brighter than the room (a dimmer face defeats the Haar detector)
# The lamp on the face per `Conditions.light`: (level, sideways slant of the shading, its floor).
# "bright" is the default plan's lamp; "dim" a face at a third of it; "side" the lamp to one side, the far cheek dark.
KEY_LIGHTS = {"bright": (KEY_LIGHT, 0.25, 0.3), "dim": (0.75, 0.25, 0.3), "side": (KEY_LIGHT, 0.7, 0.05)}
# Relative change of dermal blood volume per beat: 0.45–1.05% of the green in linear light, 0.2–0.5%
# after the gamma, a real face's camera PPG (~0.1–0.5%). Twice that (0.03–0.08) left POS and
# CHROM within 0.5 bpm in every condition without chromatic change (bench/conditions.py).
PULSE_DEPTH_RANGE = (0.015, 0.035)
MAINS_HZ = (100.0, 120.0)  # lamp flicker at twice the mains frequency (50 / 60 Hz grids)
# Flicker depth per channel, relative: a fluorescent tube's blue phosphor decays within microseconds
# and its red within milliseconds, so the blue flickers deepest, the red least: the flicker changes
# the light's colour, which a chrominance method's normalisation does not remove.
FLICKER_RGB = np.array([0.6, 1.0, 1.5], dtype=np.float32)
# Modulation of the light, in the green: a fluorescent tube on a magnetic ballast or a cheap LED
# driver flickers by 10–30% (IEEE Std 1789-2015's survey of sources). At 2–6% the rows the rolling
# shutter reads out at other phases averaged it away over the face: POS and CHROM kept within 6 bpm.
FLICKER_DEPTH_RANGE = (0.1, 0.3)
ALIAS_BAND_HZ = (0.9, 2.3)  # where the frame clock folds the flicker: inside the pulse band
LINE_TIME_S = 1 / (30.0 * 260)  # rolling-shutter row delay: the frame read out over ~1/30 s
AE_TARGET = 0.18  # metered linear luma: 18% grey (~118 in sRGB); 0.45 (~178) clipped lit faces
EV_STEP = 2 ** (1 / 3)  # auto-exposure moves its gain in thirds of a stop
JPEG_QUALITY_RANGE = (35, 70)
NOISE_BANK = 4  # frames of unit noise drawn once; each frame takes a random shifted window of one
NOISE_MARGIN = 16  # pixels of shift each way


@dataclass(frozen=True)
class Synth2Config:
    num_subjects: int = 8
    seconds: float = 20.0
    fps: float = 30.0
    width: int = 320
    height: int = 240
    seed: int = 0
    hr_range_bpm: tuple[float, float] = (50.0, 140.0)


@dataclass(frozen=True)
class Conditions:
    skin_tone: str
    flicker: str  # "none" | "aliased"
    exposure: str  # "auto" (smooth loop) | "steps" (hunting in 1/3-EV steps)
    white_balance: str  # "fixed" | "hunting"
    motion: str  # "still" | "sway"
    light: str = "bright"  # a key of KEY_LIGHTS

    def labels(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def plan_conditions(cfg: Synth2Config) -> list[Conditions]:
    """Every subject gets one or more camera problems; tones and problems cycle independently."""
    tones, plans = list(MELANIN), []
    for index in range(cfg.num_subjects):
        rng = np.random.default_rng([cfg.seed, index, 7])
        plans.append(Conditions(skin_tone=tones[index % len(tones)],
                                flicker="aliased" if index % 2 == 0 else "none",
                                exposure="steps" if index % 3 != 1 else "auto",
                                white_balance="hunting" if index % 4 in (1, 2) else "fixed",
                                motion="sway" if rng.uniform() < 0.5 else "still"))
    return plans


# ---------------------------------------------------------------- pulse


def beat_template(t: np.ndarray, ibi: float) -> np.ndarray:
    """One beat from its onset (t in s): a log-normal systolic wave and a later, smaller,
    wider reflected wave, scaled to the beat's length."""
    tt = np.clip(t / ibi, 1e-4, None)
    systolic = np.exp(-0.5 * (np.log(tt / 0.22) / 0.35) ** 2)
    reflected = 0.35 * np.exp(-0.5 * ((tt - 0.55) / 0.12) ** 2)
    return np.where(t > 0, systolic + reflected, 0.0)


def synthesize_pulse(cfg: Synth2Config, rng: np.random.Generator) -> PPGTrace:
    """Beats at AR(1) RR intervals around a mean, with breathing modulating the intervals."""
    times = np.arange(int(round(cfg.seconds * cfg.fps))) / cfg.fps
    low, high = cfg.hr_range_bpm
    mean_ibi = 60.0 / rng.uniform(low + 5, high - 5)
    resp_hz, onsets, ibis = rng.uniform(0.12, 0.35), [-rng.uniform(0, mean_ibi)], []
    deviation = 0.0
    while onsets[-1] < times[-1] + 1:
        deviation = 0.6 * deviation + rng.normal(0, 0.02 * mean_ibi)
        ibi = mean_ibi * (1 + 0.03 * np.sin(2 * np.pi * resp_hz * onsets[-1])) + deviation
        ibis.append(ibi)
        onsets.append(onsets[-1] + ibi)
    ppg = np.zeros_like(times)
    for onset, ibi in zip(onsets, ibis):
        near = (times > onset) & (times < onset + 2 * ibi)
        ppg[near] += rng.normal(1, 0.05) * beat_template(times[near] - onset, ibi)
    hr = 60.0 / np.interp(times, np.array(onsets[:-1]) + np.array(ibis) / 2, ibis)
    return PPGTrace(ppg=ppg, hr_bpm=hr, times_s=times)


# ---------------------------------------------------------------- scene and face (linear light, 0..1)


def skin_reflectance(melanin: float, blood: float) -> np.ndarray:
    """(3,) RGB reflectance through epidermis (melanin) and dermis (blood), Beer–Lambert."""
    return 0.85 * np.exp(-(melanin * 2.5 * MU_MELANIN + blood * MU_BLOOD))


def draw_room(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    room = np.empty((h, w, 3), np.float32)
    room[:] = rng.uniform(0.15, 0.5) * rng.uniform(0.85, 1.15, 3)
    room *= np.linspace(0.8, 1.15, w, dtype=np.float32)[None, :, None]  # light from one side
    x0 = int(rng.uniform(0.02, 0.2) * w)
    cv2.rectangle(room, (x0, int(0.05 * h)), (x0 + w // 5, int(0.45 * h)), (0.85, 0.88, 0.9), -1)  # window
    for _ in range(3):  # shelves with things on them
        y = int(rng.uniform(0.1, 0.7) * h)
        x = int(rng.uniform(0.6, 0.9) * w)
        cv2.rectangle(room, (x, y), (w, y + 4), tuple(rng.uniform(0.1, 0.4, 3).tolist()), -1)
        for _ in range(4):
            bx = int(rng.uniform(x, w))
            cv2.rectangle(room, (bx, y - int(rng.uniform(5, 20))), (bx + 6, y), tuple(rng.uniform(0.05, 0.7, 3).tolist()), -1)
    return room


def draw_person(rng: np.random.Generator, h: int, w: int, melanin: float, light: str = "bright"
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(colour (H, W, 3), alpha (H, W), pulse weight (H, W)) of a head and shoulders."""
    colour = np.zeros((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    skin_mask = np.zeros((h, w), np.float32)
    cx, cy = w / 2 + rng.uniform(-20, 20), h * rng.uniform(0.42, 0.5)
    ax, ay = rng.uniform(36, 46), rng.uniform(48, 58)
    skin = skin_reflectance(melanin, BLOOD_FRACTION)
    shirt = tuple(rng.uniform(0.05, 0.6, 3).tolist())
    cv2.ellipse(colour, (int(cx), int(cy + 2.6 * ay)), (int(2.4 * ax), int(1.4 * ay)), 0, 0, 360, shirt, -1)
    cv2.ellipse(alpha, (int(cx), int(cy + 2.6 * ay)), (int(2.4 * ax), int(1.4 * ay)), 0, 0, 360, 1.0, -1)
    for target, value in ((colour, tuple(skin.tolist())), (alpha, 1.0), (skin_mask, 1.0)):
        cv2.rectangle(target, (int(cx - 0.45 * ax), int(cy + 0.6 * ay)), (int(cx + 0.45 * ax), int(cy + 1.4 * ay)), value, -1)
        cv2.ellipse(target, (int(cx), int(cy)), (int(ax), int(ay)), 0, 0, 360, value, -1)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    nx, ny = (xx - cx) / ax, (yy - cy) / ay
    level, slant, floor = KEY_LIGHTS[light]
    lit = np.clip(0.55 + 0.45 * np.sqrt(np.clip(1 - nx**2 - ny**2, 0, 1)) - slant * nx * rng.choice([-1, 1]), floor, 1)
    eye_y, eye_dx = cy - 0.1 * ay, 0.4 * ax
    sockets = sum(np.exp(-0.5 * (((xx - cx - side * eye_dx) / (0.3 * ax)) ** 2 + ((yy - eye_y) / (0.15 * ay)) ** 2))
                  for side in (-1, 1))
    lit = level * lit * (1 - 0.6 * sockets) * (1 + 0.12 * np.exp(-0.5 * (((xx - cx) / (0.07 * ax)) ** 2 + ((yy - cy - 0.1 * ay) / (0.2 * ay)) ** 2)))
    colour *= np.where(skin_mask[..., None] > 0, lit[..., None], 1)
    hair = tuple((rng.uniform(0.01, 0.12) * np.array([1.0, 0.8, 0.6])).tolist())
    cv2.ellipse(colour, (int(cx), int(cy - 0.35 * ay)), (int(1.05 * ax), int(0.7 * ay)), 0, 180, 360, hair, -1)
    cv2.ellipse(alpha, (int(cx), int(cy - 0.35 * ay)), (int(1.05 * ax), int(0.7 * ay)), 0, 180, 360, 1.0, -1)
    cv2.ellipse(skin_mask, (int(cx), int(cy - 0.35 * ay)), (int(1.05 * ax), int(0.7 * ay)), 0, 180, 360, 0.0, -1)
    features = np.zeros((h, w), np.float32)
    eye_y = int(eye_y)
    glasses = rng.uniform() < 0.3
    for side in (-1, 1):
        ex = int(cx + side * eye_dx)
        cv2.ellipse(colour, (ex, eye_y), (int(0.18 * ax), int(0.07 * ay)), 0, 0, 360, (0.3, 0.3, 0.29), -1)
        cv2.circle(colour, (ex, eye_y), max(2, int(0.07 * ax)), (0.04, 0.03, 0.02), -1)
        cv2.ellipse(colour, (ex, int(eye_y - 0.15 * ay)), (int(0.25 * ax), int(0.05 * ay) + 1), 0, 180, 360, hair, -1)
        cv2.ellipse(features, (ex, eye_y), (int(0.3 * ax), int(0.25 * ay)), 0, 0, 360, 1.0, -1)
        if glasses:
            cv2.ellipse(colour, (ex, eye_y), (int(0.3 * ax), int(0.16 * ay)), 0, 0, 360, (0.02, 0.02, 0.02), 2)
    cv2.ellipse(colour, (int(cx), int(cy + 0.28 * ay)), (int(0.12 * ax), int(0.05 * ay)), 0, 0, 180,
                tuple((skin * 0.45).tolist()), -1)  # nose shadow
    cv2.ellipse(colour, (int(cx), int(cy + 0.55 * ay)), (int(0.3 * ax), int(0.07 * ay)), 0, 0, 360,
                tuple((skin * np.array([0.75, 0.45, 0.45])).tolist()), -1)
    cv2.line(colour, (int(cx - 0.28 * ax), int(cy + 0.55 * ay)), (int(cx + 0.28 * ax), int(cy + 0.55 * ay)), (0.06, 0.02, 0.02), 1)
    cv2.ellipse(features, (int(cx), int(cy + 0.5 * ay)), (int(0.35 * ax), int(0.15 * ay)), 0, 0, 360, 1.0, -1)
    colour = cv2.GaussianBlur(colour, (0, 0), 0.7)
    weight = skin_mask * (1 - features) * lit
    return colour, alpha, (weight / max(float(weight[weight > 0].mean()), 1e-6)).astype(np.float32)


# ---------------------------------------------------------------- the camera


def metered_level(colour: np.ndarray, alpha: np.ndarray, room: np.ndarray) -> float:
    """What a webcam's centre-weighted meter reads at rest: the mean luma of the frame's middle
    half, where the face is. (Metering the room alone, which is darker than the lamp-lit face,
    clipped a channel on 20–45% of the face box and left it little pulse.)"""
    h, w = alpha.shape
    scene = colour * alpha[..., None] + room * (1 - alpha[..., None])
    centre = scene[h // 4: 3 * h // 4, w // 4: 3 * w // 4]
    return float((centre @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).mean())


def exposure_gains(scene_level: np.ndarray, stepped: bool, rng: np.random.Generator) -> np.ndarray:
    """Auto-exposure: a lagging loop towards mid-grey (AE_TARGET); 'steps' hunts around its target
    in 1/3-EV steps (an over-eager controller with a dead band), 'auto' follows smoothly."""
    gain, gains = AE_TARGET / scene_level[0], []
    rate = rng.uniform(0.25, 0.5) if stepped else 0.05
    for level in scene_level:
        error = np.log2(AE_TARGET / (level * gain))
        if not stepped:
            gain *= 2 ** (rate * error)
        elif abs(error) > 0.12:  # out of the dead band: jump by a third of a stop (or two)
            gain *= EV_STEP ** (np.sign(error) * (1 + (rng.uniform() < rate)))
        gains.append(gain)
    return np.asarray(gains, np.float32)


def white_balance(n: int, fps: float, hunting: bool, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) channel gains: fixed, or R and B swinging a few percent at 0.1–1.5 Hz as AWB hunts."""
    wb = np.ones((n, 3), np.float32) * np.array([rng.uniform(0.9, 1.1), 1.0, rng.uniform(0.9, 1.1)], np.float32)
    if hunting:
        t = np.arange(n) / fps
        for channel in (0, 2):
            f, depth = rng.uniform(0.1, 1.5), rng.uniform(0.02, 0.06)
            wb[:, channel] *= 1 + depth * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return wb


def sway(n: int, fps: float, moving: bool, rng: np.random.Generator) -> np.ndarray:
    """(n, 3): dx, dy (px), roll (deg) of the person; smooth random sway when moving."""
    if not moving:
        return np.zeros((n, 3), np.float32)
    t = np.arange(n) / fps
    path = [sum(a * np.sin(2 * np.pi * rng.uniform(0.05, 0.6) * t + rng.uniform(0, 6.3))
                for a in rng.uniform(0.5, scale, 3)) for scale in (6.0, 3.0, 3.0)]
    return np.stack(path, axis=1).astype(np.float32)


def render(cfg: Synth2Config, conditions: Conditions, trace: PPGTrace, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """RGB uint8 frames of one subject."""
    h, w, n = cfg.height, cfg.width, len(trace.ppg)
    room = draw_room(rng, h, w)
    melanin = MELANIN_ANY[conditions.skin_tone] * rng.uniform(0.85, 1.15)
    colour, alpha, weight = draw_person(rng, h, w, melanin, conditions.light)
    bvp = (trace.ppg - trace.ppg.mean()) / max(np.ptp(trace.ppg), 1e-9)
    depth = rng.uniform(*PULSE_DEPTH_RANGE)
    # d(reflectance)/d(blood) = −μ_blood · reflectance: more blood darkens, most in the green
    pulse = (-(BLOOD_FRACTION * depth) * MU_BLOOD)[None, None, :] * colour * weight[..., None]
    t = trace.times_s
    light = 1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.01, 0.05) * t)  # daylight drifting
    if rng.uniform() < 0.5:  # someone switches a lamp on or off: the loop must re-expose
        light = light * np.where(t > rng.uniform(0.3, 0.7) * t[-1], rng.choice([0.55, 1.6]), 1.0)
    gains = exposure_gains(metered_level(colour, alpha, room) * light, conditions.exposure == "steps", rng)
    wb = white_balance(n, cfg.fps, conditions.white_balance == "hunting", rng)
    motion = sway(n, cfg.fps, conditions.motion == "sway", rng)
    rows = np.arange(h, dtype=np.float32)[:, None, None]
    if conditions.flicker == "aliased":
        mains = rng.choice(MAINS_HZ)
        flicker_hz = round(mains / cfg.fps) * cfg.fps + rng.uniform(*ALIAS_BAND_HZ)  # folds to the band
        flicker_depth = rng.uniform(*FLICKER_DEPTH_RANGE)
    screen = (int(rng.uniform(0.62, 0.8) * w), int(0.5 * h))
    read_noise, full_well = rng.uniform(0.002, 0.006), rng.uniform(800, 3000)
    # shot and read noise: drawing 230k normals a frame cost more than the rest of the frame
    noise = rng.standard_normal((NOISE_BANK, h + 2 * NOISE_MARGIN, w + 2 * NOISE_MARGIN, 3), dtype=np.float32)
    for k in range(n):
        m = cv2.getRotationMatrix2D((w / 2, h * 0.9), float(motion[k, 2]), 1.0)
        m[:, 2] += motion[k, :2]
        person = cv2.warpAffine(colour + pulse * float(bvp[k]), m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        a = cv2.warpAffine(alpha, m, (w, h))[..., None]
        scene = room.copy()
        cv2.rectangle(scene, screen, (screen[0] + 40, screen[1] + 28),
                      tuple((0.3 + 0.3 * np.sin([k / 17, k / 23, k / 31])).tolist()), -1)  # a screen playing
        frame = (person * a + scene * (1 - a)) * float(light[k] * gains[k]) * wb[k]  # float: stays float32
        if conditions.flicker == "aliased":  # each row integrates the lamp at its own read-out time
            phase = np.cos(2 * np.pi * flicker_hz * (float(t[k]) + rows * LINE_TIME_S))
            frame = frame * (1 + flicker_depth * phase * FLICKER_RGB)
        noise_std = np.sqrt(np.clip(frame, 0, None) * (1 / full_well) + read_noise**2, dtype=np.float32)
        dy, dx = rng.integers(0, 2 * NOISE_MARGIN, 2)
        frame = frame + noise[k % NOISE_BANK, dy:dy + h, dx:dx + w] * noise_std
        yield cv2.convertScaleAbs(cv2.pow(np.clip(frame, 0, 1), 1 / 2.2), alpha=255)  # sRGB-like gamma, 8 bits


def render_subject(folder: Path, cfg: Synth2Config, index: int, conditions: Conditions) -> dict:
    rng = np.random.default_rng([cfg.seed, index, 11])
    trace = synthesize_pulse(cfg, rng)
    folder.mkdir(parents=True, exist_ok=True)
    quality = int(rng.integers(*JPEG_QUALITY_RANGE))
    write_video(folder / ubfc_rppg.VIDEO_NAME, render(cfg, conditions, trace, rng), cfg.fps, quality)
    write_ground_truth(folder / "ground_truth.txt", trace)
    return {**conditions.labels(), "mean_hr_bpm": round(float(trace.hr_bpm.mean()), 3), "jpeg_quality": quality}


def write_dataset(out: Path, cfg: Synth2Config, workers: int = 1) -> None:
    """Render `cfg.num_subjects` videos under `out` (UBFC-rPPG layout) and metadata.json, last."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / METADATA_NAME).unlink(missing_ok=True)
    names = [f"subject{i + 1}" for i in range(cfg.num_subjects)]
    jobs = [(out / name, cfg, i, c) for i, (name, c) in enumerate(zip(names, plan_conditions(cfg)))]
    subjects = {}
    with progress_bar("rendering synthetic2 videos", len(jobs)) as advance, ProcessPoolExecutor(workers) as pool:
        for name, entry in zip(names, pool.map(render_subject, *zip(*jobs))):
            subjects[name] = entry
            advance()
    metadata = {"dataset": DATASET, "generator": __name__, "seed": cfg.seed,
                "config": dataclasses.asdict(cfg), "subjects": subjects}
    (out / METADATA_NAME).write_text(json.dumps(metadata, indent=2) + "\n")
