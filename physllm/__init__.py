"""physllm: pulse and heart rate from facial video, after PhysLLM (Xie et al., ICLR 2026)."""

__version__ = "0.1.0"
