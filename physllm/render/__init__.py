"""The renderers of the synthetic datasets: faces with a known pulse, filmed under labelled
conditions and written in UBFC-rPPG's layout (the readers are in physllm/data_catalog/synthetic.py).

- `synthetic.py` — dataset "synthetic" (`physllm datasets synth`): `SynthConfig`,
  `write_synthetic_dataset`, from the face model in `face.py` and the PPG in `ppg.py`.
- `synthetic2.py` — dataset "synthetic2", a second renderer written apart from the first, so that a
  model can be trained on one generator and tested on the other.
"""
