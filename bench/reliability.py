"""How far `physllm predict`'s confidence can be trusted, per method: the reliability tables its
per-method SNR → confidence mappings (`WindowConfig.confidence_by_method_db`) are fitted on.

Renders `--subjects` videos with each renderer (renderer 1, `physllm datasets synth`, seed 21;
renderer 2, `physllm.render.synthetic2`, seed 5: other seeds than the demo's and
bench/accuracy.py's), adds any real clips given with `--clip VIDEO:CSV` (a `ppg` column, one row
per frame, as vitallens' examples ship), and reads every video with each method through
`predict_video`: POS, CHROM, the frozen PhysNet (`--backbone`, a released name or a .pth) and a
trained PhysLLM (`--checkpoint`, when given). For every 10-s window and every whole video it keeps
the SNR of the spectral peak, the face share and the error against the ground-truth PPG's HR (read
the same way), in `<work>/records.json`; a second run with the same `--work` only prints.

Per method it fits the SNR → confidence mapping, a logistic P(within 3 bpm | SNR) =
σ((SNR − centre) / scale) by maximum likelihood over the 10-s windows, each source (renderer 1,
renderer 2, real) weighted equally, and prints under that fit:
1. a reliability table: confidence bins against the share within 3 bpm, for the windows and the
   whole videos of each source;
2. per source, how many windows and videos the verdict (confidence ≥ 0.5) keeps and flags, and
   how many of each are within 3 bpm; and each real clip's confidence and verdict.
The fitted (centre, scale) are `WindowConfig.confidence_by_method_db`'s entries.

    python bench/reliability.py --subjects 8 --seconds 20 --work /tmp/physllm-reliability \
        --clip sample_video_1.mp4:sample_vitals_1.csv --clip sample_video_2.mp4:sample_vitals_2.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from physllm import pulse  # noqa: E402
from physllm.data_catalog.video_io import probe_video  # noqa: E402
from physllm.errors import PhysllmError  # noqa: E402
from physllm.predict import EstimatorConfig, WindowConfig, make_estimator, predict_video  # noqa: E402
from physllm.predict.windows import confidence_of  # noqa: E402

BINS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.01)
SOURCES = ("renderer 1", "renderer 2", "real")
WITHIN_BPM = 3.0


def read_clip_ppg(csv_path: Path) -> np.ndarray:
    with csv_path.open() as f:
        return np.array([float(row["ppg"]) for row in csv.DictReader(f)])


def truth_hr(ppg: np.ndarray, fps: float, start_s: float, end_s: float) -> float:
    a, b = int(round(start_s * fps)), int(round(end_s * fps))
    return pulse.hr_fft(pulse.to_pulse(ppg[a:b], fps), fps)


def videos(args) -> list[tuple[str, str, Path, np.ndarray, float]]:
    """(source, name, path, truth PPG at 30 fps, 30.0) of every video, rendering what is missing."""
    from physllm.data_catalog import scan
    from physllm.render import synthetic, synthetic2

    first, second = args.work / "synthetic", args.work / "synthetic2"
    cfg = synthetic.SynthConfig(num_subjects=args.subjects, seconds=args.seconds, seed=21)
    if not synthetic.is_written_with(first, cfg):
        synthetic.write_synthetic_dataset(first, cfg, workers=2)
    cfg2 = synthetic2.Synth2Config(num_subjects=args.subjects, seconds=args.seconds, seed=5)
    if not synthetic.is_written_with(second, cfg2):
        synthetic2.write_dataset(second, cfg2, workers=2)
    out = [(source, r.subject, r.path, r.ppg(), r.fps)
           for source, dataset, root in (("renderer 1", "synthetic", first), ("renderer 2", "synthetic2", second))
           for r in scan(dataset, root)]
    for spec in args.clip:
        video, table = (Path(p) for p in spec.split(":"))
        info = probe_video(video)
        ppg = read_clip_ppg(table)[:info.num_frames]
        resampled = np.interp(np.arange(0, len(ppg) / info.fps, 1 / 30.0), np.arange(len(ppg)) / info.fps, ppg)
        out.append(("real", video.name, video, resampled, 30.0))
    return out


def read_all(args, methods: dict[str, EstimatorConfig]) -> list[dict]:
    """One record per (method, video): the whole video's and each window's SNR, face share, error."""
    records = []
    for method, spec in methods.items():
        estimator = make_estimator(spec)
        for source, name, path, ppg, fps in videos(args):
            try:
                pred = predict_video(path, estimator)
            except PhysllmError as error:  # no face at all: no number, nothing to calibrate
                print(f"{method} {name}: {error}", file=sys.stderr)
                continue
            n = min(len(ppg), len(pred.pulse))
            reads = [(pred.video, truth_hr(ppg[:n], fps, 0, n / fps))]
            reads += [(w, truth_hr(ppg, fps, w.start_s, w.end_s)) for w in pred.windows if w.end_s * fps <= len(ppg)]
            rows = [{"snr_db": w.snr_db, "face": w.face_fraction, "error": abs(w.hr_bpm - truth)} for w, truth in reads]
            records.append({"method": method, "source": source, "video": name, "whole": rows[0], "windows": rows[1:]})
            print(f"{method:8s} {source:10s} {name:22s} error {rows[0]['error']:6.2f} bpm, "
                  f"SNR {rows[0]['snr_db']:5.1f} dB", file=sys.stderr)
    return records


def fit_mapping(rows: list[dict], sources: list[str]) -> tuple[float, float]:
    """(centre, scale) in dB of the logistic P(within 3 bpm | SNR) = σ((SNR − centre) / scale), by
    maximum likelihood with each source's windows weighted to one source's share."""
    from scipy.optimize import minimize

    snr = np.array([r["snr_db"] for r in rows])
    within = np.array([r["error"] <= WITHIN_BPM for r in rows], dtype=float)
    weight = np.array([1.0 / sources.count(s) for s in sources])
    ok = np.isfinite(snr)
    snr, within, weight = snr[ok], within[ok], weight[ok]

    def loss(ab):  # weighted negative log-likelihood of σ(a + b·SNR)
        z = ab[0] + ab[1] * snr
        return float(np.sum(weight * (np.logaddexp(0.0, z) - within * z)))

    a, b = minimize(loss, np.array([0.0, 0.3])).x
    return float(-a / b), float(1.0 / b)


def print_method(method: str, records: list[dict], base: WindowConfig) -> None:
    mine = [r for r in records if r["method"] == method]
    units = {(source, unit): [row for r in mine if r["source"] == source
                              for row in ([r["whole"]] if unit == "videos" else r["windows"])]
             for source in SOURCES for unit in ("windows", "videos")}
    windows = [(row, r["source"]) for r in mine for row in r["windows"]]
    centre, scale = fit_mapping([w for w, _ in windows], [s for _, s in windows])
    cfg = replace(base, snr_centre_db=round(centre, 1), confidence_scale_db=round(scale, 1))
    now = base.for_method(method)
    print(f"\n## {method}: fitted centre {centre:+.2f} dB, scale {scale:.2f} dB (the default now: "
          f"{now.snr_centre_db:+.1f}, {now.confidence_scale_db:.1f}); confidence under the fit vs "
          f"share within {WITHIN_BPM:g} bpm (within/count)")
    print(f"{'confidence':>10s} " + " ".join(f"{s + ' ' + u:>20s}" for s, u in units))
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        cells = []
        for rows in units.values():
            conf = np.array([confidence_of(r["snr_db"], r["face"], cfg) for r in rows])
            err = np.array([r["error"] for r in rows])
            inside = (conf >= lo) & (conf < hi)
            cells.append(f"{(err[inside] <= WITHIN_BPM).sum()}/{inside.sum()}" if inside.any() else "-")
        print(f"{lo:4.1f}–{min(hi, 1.0):<4.1f} " + " ".join(f"{c:>20s}" for c in cells))
    for (source, unit), rows in units.items():
        if not rows:
            continue
        conf = np.array([confidence_of(r["snr_db"], r["face"], cfg) for r in rows])
        good = np.array([r["error"] for r in rows]) <= WITHIN_BPM
        kept = conf >= cfg.min_confidence
        print(f"  {source} {unit}: reliable {kept.sum()}/{len(rows)}, of them within {good[kept].sum()}; "
              f"flagged {(~kept).sum()}, of them within {good[~kept].sum()}")
    for r in (r for r in mine if r["source"] == "real"):
        conf = confidence_of(r["whole"]["snr_db"], r["whole"]["face"], cfg)
        print(f"  {r['video']}: error {r['whole']['error']:.2f} bpm, SNR {r['whole']['snr_db']:+.1f} dB, "
              f"confidence {conf:.2f} ({'reliable' if conf >= cfg.min_confidence else 'flagged'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=8, help="videos per renderer")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--work", type=Path, required=True, help="renders and records.json, reused when present")
    parser.add_argument("--clip", action="append", default=[], help="VIDEO:CSV of a real clip with a ppg column")
    parser.add_argument("--backbone", default="ubfc-rppg", help="the PhysNet: a released name or a .pth")
    parser.add_argument("--checkpoint", type=Path, help="a trained PhysLLM, read beside the others")
    parser.add_argument("--methods", default="pos,chrom,physnet,physllm")
    args = parser.parse_args()
    specs = {"pos": EstimatorConfig(baseline="pos"), "chrom": EstimatorConfig(baseline="chrom"),
             "physnet": EstimatorConfig(backbone=args.backbone), "physllm": EstimatorConfig(checkpoint=args.checkpoint)}
    wanted = [m for m in args.methods.split(",") if m != "physllm" or args.checkpoint]
    path = args.work / "records.json"
    records = json.loads(path.read_text()) if path.is_file() else []
    missing = {m: specs[m] for m in wanted if m not in {r["method"] for r in records}}
    if missing:
        records += read_all(args, missing)
        path.write_text(json.dumps(records))
    base = WindowConfig()
    for method in wanted:
        print_method(method, records, base)


if __name__ == "__main__":
    main()
