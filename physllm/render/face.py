"""A rendered face whose skin carries a pulse, and the recording scenarios it is filmed under.

Light model: each skin pixel's diffuse colour is attenuated by blood absorption,
`c · (1 − a · bvp(t) · w(x, y) · s)`, with `s` the normalised blood-volume-pulse signature of
skin for an RGB camera, [0.33, 0.77, 0.53] (de Haan & van Leest, "Improved motion robustness of
remote-PPG by using the blood volume pulse signature", Physiol. Meas. 2014), `a` 0.2–0.6% of the
intensity, and `w` larger on the forehead and cheeks, where rPPG is strongest (Kim et al.,
"Assessment of ROI selection for facial video-based rPPG", Sensors 2021), and blotchy from patch to
patch of skin. Specular reflection, eyes, hair and background do not pulse (the skin reflection
model of Wang et al., "Algorithmic principles of remote PPG", IEEE TBME 2017). Darker skin
attenuates the pulsatile part (Nowara et al., "A meta-analysis of the impact of skin type and
gender on non-contact photoplethysmography measurements", CVPRW 2020). The head bobs by a fraction
of a pixel with each beat (ballistocardiography; Balakrishnan et al., "Detecting pulse from head
motions in video", CVPR 2013).

The face is lit by the room's daylight and a warm lamp to one side, white-balanced at rest. The
lamp is what flickers and is switched, and its share of the face's light and its highlight change
as the head moves: the light changes colour, not only level, so chrominance methods (POS, CHROM)
are hurt by light changes and motion as they are on real video, not only the learned ones.

Scenarios follow MMPD's recording labels (Tang et al., "MMPD: multi-domain mobile video
physiology dataset", EMBC 2023): skin tone, lighting, motion (still, rotation, talking, walking),
plus camera noise and compression (McDuff et al., "The impact of video compression on remote
cardiac pulse measurement using imaging photoplethysmography", IEEE FG 2017).

Rendering cost: every static layer (shading, texture, features, masks) is built once per
subject; a frame is two scaled adds for the pulse and the sheen, one remap for the motion, the
light's colour on the person and on the room, a composite and the sensor noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

# Skin colours (sRGB under a white light), one per Fitzpatrick group MMPD labels, chosen by eye
# along the Monk Skin Tone scale; the gain is the relative pulsatile amplitude (Nowara et al. 2020).
SKIN_TONES = {"I-II": (236, 192, 165), "III-IV": (200, 146, 108), "V": (146, 98, 68), "VI": (92, 62, 46)}
# Every Fitzpatrick type on its own (bench/detection.py renders each): I-IV split along the same
# scale, V and VI as above. A scenario may name any key of TONE_RGB; the default plan cycles SKIN_TONES.
TONE_RGB = SKIN_TONES | {"I": (246, 214, 192), "II": (228, 180, 150), "III": (212, 160, 122), "IV": (178, 126, 90)}
TONE_PULSE_GAIN = {"I-II": 1.0, "III-IV": 0.9, "V": 0.75, "VI": 0.6, "I": 1.0, "II": 1.0, "III": 0.9, "IV": 0.85}
PULSE_SIGNATURE_RGB = np.array([0.33, 0.77, 0.53], dtype=np.float32)  # de Haan & van Leest 2014
# The pulse's depth a is SynthConfig.pulse_amplitude_range (synthetic.py).
# std of log w from skin patch to skin patch: pulse maps are blotchy, not smooth. It does not move
# POS or CHROM (their mean over the skin is the same); the PURE PhysNet lost 1 more easy render of 3.
PULSE_SPREAD = 0.5
PULSE_SPREAD_PX = 4.0  # feature size of that variation at 240 lines

LIGHTS = ("bright", "dim", "flicker", "step", "side")  # "side": one lamp at the side, the far cheek in shadow
MOTIONS = ("still", "rotation", "translation", "talking", "walking")
NOISE_SIGMA = {"low": 1.0, "high": 6.0}  # sensor noise, 8-bit levels (a webcam in good / poor light)
JPEG_QUALITY = {"high": 95, "low": 25}  # MJPG quality: near-lossless / heavy (McDuff et al. 2017)
EASY = {"light": "bright", "motion": "still", "noise": "low", "compression": "high"}

DIM_LEVEL = 0.35  # a dim room: a third of the exposure, at the same sensor noise
# Two lights: daylight from the room (~7000 K) and a warm lamp (2700–4000 K) to one side. The camera
# white-balances their mix at rest; the lamp is what flickers, switches and, as the head moves
# nearer it or away, changes its share of the face's light: a change of colour, which the
# chrominance methods' normalisation does not remove (Wang et al. 2017, section II).
AMBIENT_RGB = np.array([0.95, 0.95, 1.0], dtype=np.float32)  # sRGB of a ~7000 K blackbody, red-normalised
LAMP_RGB_RANGE = (np.array([1.0, 0.66, 0.34], dtype=np.float32),  # ~2700 K, an incandescent bulb
                  np.array([1.0, 0.82, 0.64], dtype=np.float32))  # ~4000 K, a neutral LED
LAMP_SHARE_RANGE = (0.3, 0.7)  # the lamp's share of the face's light at rest
# Relative change of the lamp's light on the face per face width (~15 cm) the head moves towards
# it: inverse-square fall-off and the face's angle to a lamp ~1 m away. Walking, POS: 0.4 bpm
# without it and at a 1% pulse, 11.1 with it, 4.1 at 0.2–0.6% without, 25.7 with both.
LAMP_POSE_GAIN = 0.5
# The same for its highlight, which turns with the surface normal, faster. No measurable effect on
# POS or CHROM at this sheen's size (a few % of the skin); kept for what motion does to the pixels.
SHEEN_POSE_GAIN = 2.0
AUTO_EXPOSURE_TARGET = 110.0  # face luma the camera aims for: about mid-grey (18% grey is ~118 in sRGB)
AUTO_EXPOSURE_RANGE = (0.8, 2.2)  # a webcam opens up a lot for a dark face (and blows out a bright wall)
JAW_OPEN_PX = 6.0  # widest mouth opening while talking, at 240 lines
BCG_PX_RANGE = (0.2, 0.4)  # head motion per beat at 240 lines: sub-pixel (Balakrishnan et al. 2013)


@dataclass(frozen=True)
class Scenario:
    """One video's recording conditions; each field takes a label from the tables above."""

    skin_tone: str
    light: str
    motion: str
    noise: str
    compression: str

    @property
    def difficulty(self) -> str:
        easy = all(getattr(self, axis) == label for axis, label in EASY.items())
        return "easy" if easy else "hard"

    def labels(self) -> dict[str, str]:
        return {"skin_tone": self.skin_tone, "light": self.light, "motion": self.motion,
                "noise": self.noise, "compression": self.compression, "difficulty": self.difficulty}


@dataclass(frozen=True)
class Lamp:
    """The side lamp: its share of the face's light at rest, its colour and where it stands."""

    share: float
    rgb: np.ndarray  # (3,)
    direction: np.ndarray  # (2,) unit vector in the image plane, from the face towards the lamp


def draw_lamp(rng: np.random.Generator) -> Lamp:
    angle = rng.uniform(0, 2 * np.pi)
    low, high = LAMP_RGB_RANGE
    return Lamp(share=float(rng.uniform(*LAMP_SHARE_RANGE)), rgb=low + rng.uniform() * (high - low),
                direction=np.array([np.cos(angle), np.sin(angle)]))


@dataclass(frozen=True)
class FaceLayers:
    """One subject's static layers, at rest, in the frame's pixel grid."""

    background: np.ndarray  # float32 (H, W, 3)
    person: np.ndarray  # float32 (H, W, 4): diffuse RGB premultiplied by alpha, then alpha
    sheen: np.ndarray  # float32 (H, W, 4): specular RGB at rest (alpha channel 0)
    pulse_gain: np.ndarray  # float32 (H, W, 4): colour lost per unit pulse (alpha channel 0)
    jaw_weight: np.ndarray  # float32 (H, W): 1 on the chin and lower lip, 0 above the mouth
    centre: tuple[float, float]  # face centre (x, y), the pivot of head motion
    face_width: float  # pixels
    lamp: Lamp


@dataclass(frozen=True)
class MotionPath:
    """Per-frame head pose relative to rest, in pixels and degrees."""

    dx: np.ndarray
    dy: np.ndarray
    roll_deg: np.ndarray
    scale_x: np.ndarray  # < 1 while the head turns (yaw, seen as a horizontal squeeze)
    scale_y: np.ndarray
    jaw_px: np.ndarray  # mouth opening


# ---------------------------------------------------------------- drawing primitives


def soft_ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, ax: float, ay: float) -> np.ndarray:
    """Ellipse mask with a one-pixel anti-aliased edge."""
    radius = np.sqrt(((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2)
    return np.clip((1.0 - radius) * min(ax, ay) + 0.5, 0.0, 1.0)


def gaussian_blob(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """Zero-mean, unit-std spatial noise with features about `scale_px` wide."""
    noise = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), scale_px)
    return noise / max(float(noise.std()), 1e-6)


def paint(canvas: np.ndarray, mask: np.ndarray, colour) -> None:
    """Alpha-blend a colour (RGB, or a per-pixel image) onto the canvas where mask > 0."""
    canvas += mask[..., None] * (np.asarray(colour, dtype=np.float32) - canvas)


# ---------------------------------------------------------------- the face


def build_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A muted wall: a vertical gradient with soft blotches and a door or shelf edge."""
    base = rng.uniform(70, 190) * rng.uniform(0.8, 1.1, size=3)
    rows = np.linspace(1.1, 0.85, height)[:, None, None]
    blotches = 1 + 0.06 * smooth_noise(rng, (height, width), width / 12)[..., None]
    wall = (base * rows * blotches).astype(np.float32)  # (H, W, 3)
    edge = int(rng.uniform(0.05, 0.2) * width) if rng.uniform() < 0.5 else int(rng.uniform(0.8, 0.95) * width)
    wall[:, edge:edge + max(2, width // 40)] *= 0.7
    return wall


@dataclass(frozen=True)
class HeadGeometry:
    """Where the face sits: its ellipse and the pixel grid in frame and face-normalised units."""

    x: np.ndarray  # (H, W) pixel column
    y: np.ndarray  # (H, W) pixel row
    cx: float
    cy: float
    ax: float  # face ellipse semi-axes, pixels
    ay: float
    u: float  # one pixel at 240 lines: scales every size with the frame

    @property
    def fx(self) -> np.ndarray:
        return (self.x - self.cx) / self.ax

    @property
    def fy(self) -> np.ndarray:
        return (self.y - self.cy) / self.ay

    def ellipse(self, dx: float, dy: float, sx: float, sy: float) -> np.ndarray:
        """A soft ellipse placed and sized in face units (fractions of the semi-axes)."""
        return soft_ellipse(self.x, self.y, self.cx + dx * self.ax, self.cy + dy * self.ay, sx * self.ax, sy * self.ay)

    def blob(self, dx: float, dy: float, sx: float, sy: float) -> np.ndarray:
        return gaussian_blob(self.x, self.y, self.cx + dx * self.ax, self.cy + dy * self.ay, sx * self.ax, sy * self.ay)


EYE_DX, EYE_DY, MOUTH_DY = 0.38, -0.14, 0.52  # feature positions in face units


def draw_geometry(rng: np.random.Generator, height: int, width: int) -> HeadGeometry:
    """A face ~90×120 pixels at 240 lines (MMPD-like framing), a little off centre."""
    u = height / 240.0
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return HeadGeometry(x=x, y=y, cx=width / 2 + rng.uniform(-8, 8) * u, cy=height * 0.46 + rng.uniform(-5, 5) * u,
                        ax=rng.uniform(42, 48) * u, ay=rng.uniform(56, 62) * u, u=u)


SIDE_LIGHT = (1.6, 0.12)  # one-sided light: the lamp's sideways slant and the ambient left in the shadow


def shade_head(head: HeadGeometry, rng: np.random.Generator, side_lit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lambertian shading of an ellipsoid lit from above and to one side, with shadowed eye
    sockets, nose side and upper lip and a lit nose bridge. Returns (shade, lambert).
    `side_lit`: a lamp well to one side and little ambient light, the far half of the face dark."""
    slant, ambient = SIDE_LIGHT if side_lit else (rng.uniform(-0.5, 0.5), 0.35)
    light = np.array([slant * rng.choice([-1, 1]) if side_lit else slant, -0.35, 1.0], dtype=np.float32)
    light /= np.linalg.norm(light)
    fx, fy = head.fx, head.fy
    nz = np.sqrt(np.clip(1 - fx**2 - fy**2, 0, 1))
    lambert = np.clip(fx * light[0] + fy * light[1] + nz * light[2], 0, 1)
    shade = ambient + (1 - ambient) * lambert
    for side in (-1, 1):
        shade *= 1 - 0.45 * head.blob(side * EYE_DX, EYE_DY, 0.25, 0.13)
    shade *= 1 + 0.1 * head.blob(0, 0.05, 0.06, 0.25)
    shadow_side = 1.0 if light[0] <= 0 else -1.0
    shade *= 1 - 0.2 * head.blob(shadow_side * 0.13, 0.12, 0.06, 0.2)
    shade *= 1 - 0.25 * head.blob(0, 0.38, 0.16, 0.04)
    return shade, lambert


def paint_features(canvas: np.ndarray, head: HeadGeometry, shade: np.ndarray, texture: np.ndarray,
                   skin_rgb: np.ndarray, hair_rgb: np.ndarray) -> np.ndarray:
    """Eyes, lids, brows, nostrils, lips and hair over the skin; returns their combined mask."""
    features = []
    for side in (-1, 1):
        white = head.ellipse(side * EYE_DX, EYE_DY, 0.19, 0.07)
        # The sclera sits in the socket's shadow, half under the lids: grey rather than white.
        paint(canvas, white, np.array([200, 196, 190], dtype=np.float32) * shade[..., None])
        paint(canvas, head.ellipse(side * EYE_DX, EYE_DY, 0.1, 0.1 * head.ax / head.ay) * white, (40, 28, 20))  # iris
        paint(canvas, head.ellipse(side * EYE_DX, EYE_DY, 0.035, 0.035 * head.ax / head.ay), (5, 5, 5))  # pupil
        lid = head.ellipse(side * EYE_DX, EYE_DY - 0.05, 0.21, 0.025)
        brow = soft_ellipse(head.x, head.y, head.cx + side * EYE_DX * head.ax,
                            head.cy + (EYE_DY - 0.17 - 0.04 * head.fx**2) * head.ay, 0.24 * head.ax, 0.045 * head.ay)
        nostril = head.ellipse(side * 0.1, 0.3, 0.05, 0.025)
        paint(canvas, lid, 0.5 * hair_rgb)  # lashes and the lid's crease
        paint(canvas, brow, 0.7 * hair_rgb)
        paint(canvas, nostril, skin_rgb * 0.3)
        features += [white, lid, brow, nostril]
    lips = head.ellipse(0, MOUTH_DY, 0.3, 0.065)
    paint(canvas, lips, skin_rgb * np.array([0.78, 0.5, 0.52], dtype=np.float32) * shade[..., None])
    paint(canvas, soft_ellipse(head.x, head.y, head.cx, head.cy + MOUTH_DY * head.ay, 0.27 * head.ax,
                               0.012 * head.ay + 0.6), (35, 15, 15))  # the gap between the lips
    skull = head.ellipse(0, -0.2, 1.12, 0.92)
    hairline = head.cy - (0.55 - 0.12 * head.fx**2) * head.ay
    hair = np.maximum(skull * np.clip(hairline - head.y + 0.5, 0, 1),  # over the forehead
                      skull * (1 - head.ellipse(0, 0, 1, 1)) * (head.y < head.cy))  # around the temples
    paint(canvas, hair, hair_rgb * (0.7 + 0.3 * texture[..., None]))
    return np.maximum.reduce(features + [lips, hair])


def pulse_weight(rng: np.random.Generator, head: HeadGeometry, cheeks: np.ndarray, skin: np.ndarray,
                 face: np.ndarray) -> np.ndarray:
    """w(x, y): forehead and cheeks pulse most, the neck least, and it varies from patch to patch of
    skin (log-normal, PULSE_SPREAD; amplitude maps in Kamshilin et al., "A new look at the
    essence of the imaging photoplethysmography", Sci. Rep. 2015); mean 1 over the face's skin."""
    patches = np.exp(PULSE_SPREAD * smooth_noise(rng, skin.shape, PULSE_SPREAD_PX * head.u))
    weight = (0.6 + 0.8 * head.blob(0, -0.38, 0.45, 0.12) + 0.6 * cheeks) * patches
    weight *= np.where(head.fy > 1, 0.5, 1.0) * skin
    return weight / max(float(weight[face > 0.5].mean()), 1e-6)


def build_face(rng: np.random.Generator, height: int, width: int, skin_tone: str,
               pulse_amplitude: float, side_lit: bool = False) -> FaceLayers:
    """Head (ellipsoid shading, fixed skin texture), eyes, brows, nose, mouth, ears, hair, neck
    and shoulders, proportioned so that OpenCV's Haar frontal-face cascade finds the face."""
    head = draw_geometry(rng, height, width)
    shade, lambert = shade_head(head, rng, side_lit)
    pores = 0.015 * smooth_noise(rng, (height, width), 0.7)
    texture = 1 + 0.04 * smooth_noise(rng, (height, width), 6 * head.u) + pores
    skin_rgb = np.array(TONE_RGB[skin_tone], dtype=np.float32) * rng.uniform(0.95, 1.05, size=3)
    cheeks = head.blob(-0.45, 0.22, 0.2, 0.15) + head.blob(0.45, 0.22, 0.2, 0.15)
    flushed = skin_rgb * np.array([1.04, 0.94, 0.94], dtype=np.float32)
    skin_colour = skin_rgb + cheeks[..., None] * (flushed - skin_rgb)

    face = head.ellipse(0, 0, 1, 1)
    ears = head.ellipse(-0.97, 0, 0.14, 0.2) + head.ellipse(0.97, 0, 0.14, 0.2)
    neck = head.ellipse(0, 0.95, 0.5, 0.7) * (head.y > head.cy)
    neck_shade = 0.55 + 0.2 * np.clip(1 - np.abs(head.fx) / 0.5, 0, 1)  # under the chin's shadow
    skin = np.clip(face + ears + neck, 0, 1)
    canvas = (skin_colour * (np.where(face > 0, shade, neck_shade) * texture)[..., None]).astype(np.float32)

    hair_rgb = np.array(SKIN_TONES["VI"], dtype=np.float32) * rng.uniform(0.1, 0.45)  # black to mid brown
    features = paint_features(canvas, head, shade, texture, skin_rgb, hair_rgb)
    shirt = head.ellipse(0, 2.6, 2.6, 1.15) * (1 - neck)
    paint(canvas, shirt, rng.uniform(30, 200, size=3) * (0.8 + 0.2 * texture[..., None]))
    alpha = np.clip(skin + features + shirt, 0, 1)
    bare_skin = skin * (1 - features) * (1 - shirt)

    # The webcam's centre-weighted auto-exposure brings the face towards mid-grey.
    luma = canvas[face > 0.5] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    exposure = float(np.clip(AUTO_EXPOSURE_TARGET / luma.mean(), *AUTO_EXPOSURE_RANGE))
    diffuse = exposure * canvas * alpha[..., None]
    # Specular sheen on forehead and nose: surface reflection, so it carries no pulse.
    sheen = 28 * lambert**12 * bare_skin * (1 - 0.5 * np.clip(head.fy, 0, 1))
    person = np.dstack([diffuse, alpha]).astype(np.float32)
    weight = pulse_weight(rng, head, cheeks, bare_skin, face)
    lost = diffuse * (pulse_amplitude * weight)[..., None] * PULSE_SIGNATURE_RGB
    pulse_gain = np.dstack([lost, np.zeros_like(alpha)]).astype(np.float32)
    sheen_rgba = np.dstack([sheen, sheen, sheen, np.zeros_like(alpha)]).astype(np.float32)
    return FaceLayers(background=exposure * build_background(rng, height, width), person=person, sheen=sheen_rgba,
                      pulse_gain=pulse_gain, jaw_weight=jaw_weight(head), centre=(head.cx, head.cy),
                      face_width=2 * head.ax, lamp=draw_lamp(rng))


def jaw_weight(head: HeadGeometry) -> np.ndarray:
    """How far each pixel follows the jaw: 0 above the lips, 1 on the chin. The pull ramps up
    over JAW_OPEN_PX below the lip line, so an opening mouth stretches the dark gap between the
    lips instead of duplicating the upper lip."""
    below_lips = np.clip((head.fy - MOUTH_DY) * head.ay / (JAW_OPEN_PX * head.u), 0, 1)
    return (below_lips * np.clip(1.3 - np.abs(head.fx), 0, 1) * (head.fy < 1.3)).astype(np.float32)


# ---------------------------------------------------------------- scenarios over time


def slow_wander(rng: np.random.Generator, times: np.ndarray, low_hz: float, high_hz: float,
                count: int = 3) -> np.ndarray:
    """A smooth random path in [-1, 1]: a few sinusoids of random frequency and phase."""
    freqs = rng.uniform(low_hz, high_hz, size=count)
    phases = rng.uniform(0, 2 * np.pi, size=count)
    return np.sin(2 * np.pi * freqs[:, None] * times[None, :] + phases[:, None]).sum(axis=0) / count


def light_curve(light: str, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scene exposure per frame (1 = bright). Flicker: a lamp's PWM or mains ripple beating
    with the frame rate aliases into 0.8–2.4 Hz, inside the pulse band. Step: the light is
    switched up or down a few times, with an auto-exposure transient of ~0.3 s."""
    if light in ("bright", "side"):  # a side light changes the shading (build_face), not the exposure
        return np.ones_like(times)
    if light == "dim":
        return np.full_like(times, DIM_LEVEL)
    if light == "flicker":
        depth, hz, phase = rng.uniform(0.015, 0.03), rng.uniform(0.8, 2.4), rng.uniform(0, 2 * np.pi)
        return 1 + depth * np.sin(2 * np.pi * hz * times + phase)
    if light == "step":
        switch_times = np.sort(rng.uniform(0.1, 0.9, size=3)) * times[-1]
        levels = rng.uniform(0.5, 1.0, size=4)
        level = levels[np.searchsorted(switch_times, times)]
        dt = times[1] - times[0]
        kernel = np.ones(max(1, int(round(0.3 / dt))))
        padded = np.concatenate([np.full(len(kernel) - 1, level[0]), level])
        return np.convolve(padded, kernel / kernel.sum(), mode="valid")
    raise ValueError(f"unknown light {light!r}; expected one of {LIGHTS}")


def towards_lamp(path: MotionPath, lamp: Lamp, face_width_px: float) -> np.ndarray:
    """Head displacement towards the lamp per frame, in face widths."""
    return (path.dx * lamp.direction[0] + path.dy * lamp.direction[1]) / face_width_px


def illumination(level: np.ndarray, path: MotionPath, lamp: Lamp, face_width_px: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(face, background) RGB gains per frame, (T, 3) each, 1 at rest after white balance.

    The light curve's departures from its mean are the lamp's (it flickers, it is switched), so
    they change the light's colour as well as its level; the face's share of the lamp also
    follows the head towards or away from it (`LAMP_POSE_GAIN`)."""
    white = (1 - lamp.share) * AMBIENT_RGB + lamp.share * lamp.rgb
    ambient, warm = (1 - lamp.share) * AMBIENT_RGB / white, lamp.share * lamp.rgb / white
    mean = float(level.mean())
    lamp_level = np.clip(1 + (level / mean - 1) / lamp.share, 0, None)
    nearer = np.clip(1 + LAMP_POSE_GAIN * towards_lamp(path, lamp, face_width_px), 0, None)
    background = mean * (ambient + warm * lamp_level[:, None])
    face = mean * (ambient + warm * (lamp_level * nearer)[:, None])
    return face.astype(np.float32), background.astype(np.float32)


def motion_path(motion: str, times: np.ndarray, bvp: np.ndarray, rng: np.random.Generator, u: float) -> MotionPath:
    """Head pose per frame. Every scenario keeps a slow postural sway and the heartbeat's
    sub-pixel bob; rotation turns the head ±25° (yaw) at 0.15–0.35 Hz; translation wanders
    ±8% of the frame; talking opens the jaw at a 3–5 Hz syllable rate in bursts; walking
    bobs at a 1.6–2.0 Hz step rate (inside the pulse band) with sway at the stride rate."""
    zeros, ones = np.zeros_like(times), np.ones_like(times)
    dx = 0.6 * u * slow_wander(rng, times, 0.02, 0.1)
    dy = 0.6 * u * slow_wander(rng, times, 0.02, 0.1) + rng.uniform(*BCG_PX_RANGE) * u * bvp
    path = MotionPath(dx=dx, dy=dy, roll_deg=zeros, scale_x=ones, scale_y=ones, jaw_px=zeros)
    if motion == "still":
        return path
    if motion == "rotation":
        yaw = np.deg2rad(25) * np.sin(2 * np.pi * rng.uniform(0.15, 0.35) * times + rng.uniform(0, 2 * np.pi))
        return MotionPath(dx=dx + 20 * u * np.sin(yaw), dy=dy, roll_deg=4 * slow_wander(rng, times, 0.1, 0.3),
                          scale_x=np.cos(yaw), scale_y=ones, jaw_px=zeros)
    if motion == "translation":
        return MotionPath(dx=dx + 25 * u * slow_wander(rng, times, 0.05, 0.3),
                          dy=dy + 12 * u * slow_wander(rng, times, 0.05, 0.3),
                          roll_deg=zeros, scale_x=ones, scale_y=ones, jaw_px=zeros)
    if motion == "talking":
        syllable_phase = np.cumsum(rng.uniform(3, 5) + slow_wander(rng, times, 0.2, 0.6)) * (times[1] - times[0])
        bursts = np.clip(2 * slow_wander(rng, times, 0.2, 0.5) + 0.5, 0, 1)  # speech and pauses
        jaw = 0.9 * JAW_OPEN_PX * u * bursts * 0.5 * (1 - np.cos(2 * np.pi * syllable_phase))
        nod = slow_wander(rng, times, 0.3, 1.0)
        return MotionPath(dx=dx, dy=dy + 1.5 * u * nod, roll_deg=2 * nod, scale_x=ones, scale_y=ones, jaw_px=jaw)
    if motion == "walking":
        step_hz, phase = rng.uniform(1.6, 2.0), rng.uniform(0, 2 * np.pi)
        scale = 1 + 0.04 * slow_wander(rng, times, 0.03, 0.1)
        stride = np.pi * step_hz * times + phase  # one stride is two steps
        return MotionPath(dx=dx + 6 * u * np.sin(stride), dy=dy + 5 * u * np.sin(2 * stride),
                          roll_deg=2 * np.sin(stride), scale_x=scale, scale_y=scale, jaw_px=zeros)
    raise ValueError(f"unknown motion {motion!r}; expected one of {MOTIONS}")


# ---------------------------------------------------------------- frames


def pose_matrix(path: MotionPath, index: int, centre: tuple[float, float]) -> np.ndarray:
    """The 2×3 map from output pixels back to the head at rest (for cv2.remap)."""
    forward = cv2.getRotationMatrix2D(centre, float(path.roll_deg[index]), 1.0)
    forward[:, :2] *= np.array([path.scale_x[index], path.scale_y[index]])[None, :]
    forward[:, 2] += np.array(centre) - forward[:, :2] @ np.array(centre) + [path.dx[index], path.dy[index]]
    return cv2.invertAffineTransform(forward)


def sensor_noise(rng: np.random.Generator, sigma: float, shape: tuple[int, ...]) -> np.ndarray:
    """Gaussian noise drawn per 2×2 Bayer cell: demosaicing spreads a photosite's noise over its
    neighbours, and a quarter of the draws keeps rendering fast."""
    height, width, channels = shape
    cells = rng.standard_normal(((height + 1) // 2, (width + 1) // 2, channels), dtype=np.float32)
    return sigma * cv2.resize(cells, (width, height), interpolation=cv2.INTER_NEAREST)


def render_frames(layers: FaceLayers, path: MotionPath, light: np.ndarray, bvp: np.ndarray,
                  noise_sigma: float, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """RGB uint8 frames: pulse the skin, move the head, light it and the room (`illumination`),
    composite, add sensor noise."""
    height, width = layers.background.shape[:2]
    y_grid, x_grid = np.mgrid[0:height, 0:width].astype(np.float32)
    background = np.dstack([layers.background, np.ones((height, width), np.float32)])  # opaque RGBA
    face_light, back_light = illumination(light, path, layers.lamp, layers.face_width)
    # The sheen is the lamp's highlight: it waxes and wanes as the head's pose to the lamp changes.
    gloss = np.clip(1 + SHEEN_POSE_GAIN * towards_lamp(path, layers.lamp, layers.face_width), 0, None)
    for index in range(len(bvp)):
        person = cv2.scaleAdd(layers.pulse_gain, -float(bvp[index]),
                              cv2.scaleAdd(layers.sheen, float(gloss[index]), layers.person))  # (H, W, 4)
        back = pose_matrix(path, index, layers.centre).astype(np.float32)
        map_x = back[0, 0] * x_grid + back[0, 1] * y_grid + back[0, 2]
        map_y = back[1, 0] * x_grid + back[1, 1] * y_grid + back[1, 2] - float(path.jaw_px[index]) * layers.jaw_weight
        # Replicating the border keeps the shirt, cut by the frame, filling the bottom edge as the body moves.
        moved = cv2.remap(person, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        uncovered = cv2.merge([1 - moved[..., 3]] * 4)
        lit = cv2.multiply(moved, (*face_light[index].tolist(), 1.0))  # alpha stays
        room = cv2.multiply(background, (*back_light[index].tolist(), 1.0))
        scene = cv2.add(lit, cv2.multiply(uncovered, room))  # premultiplied "over"
        frame = cv2.add(scene, sensor_noise(rng, noise_sigma, scene.shape))
        yield cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_RGBA2RGB)
