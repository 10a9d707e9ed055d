"""Layer math with its hand-derived backward (imported PyTorch-style as ``F``)."""
