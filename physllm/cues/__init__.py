"""Every input a model reads from a clip, computed in one place for precompute, train, evaluate
and predict: the shard columns of a clip (`rows`: PhysNet's wave and features, the description,
the skin's colour), the statistics of the wave (`stats`), the cue texts (`texts`), the
chrominance wave (`chrominance`) and the quality of each wave with the fallback decided on it
(`quality`)."""
