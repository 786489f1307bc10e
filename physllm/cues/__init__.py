"""What a model reads from a clip beside PhysNet's own outputs, computed in one place for
precompute, train, evaluate and predict: the chrominance wave (`chrominance`) and the signal
quality of each wave with the fallback decided on it (`quality`)."""
