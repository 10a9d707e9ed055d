"""``WeightNoise``: Gaussian noise on a module's weights during training forward passes.

Noise injection need not stop at the inputs.  Perturbing the *weights* on every
training step (An 1996; Graves 2011, "weight noise") makes the network prefer
flat regions of the loss, where a small change of the weights costs little:

    W~ = W + std * E,   E_ij ~ N(0, 1), a fresh E on every training forward,
    y  = f(x; W~),
    dL/dW = dL/dW~            (W~ = W + constant, so the gradient passes unchanged
                               to the clean weights, which the optimiser updates).

In eval mode the clean weights are used: the wrapper is the identity.
"""

from __future__ import annotations

from typing import Any

from .. import random as kn_random
from ..autograd import Tensor
from ..validation import check_choice, check_int, check_positive, check_type
from .module import Module, Parameter

__all__ = ["WeightNoise"]

_WHICH = ("weight", "all")


class WeightNoise(Module):
    """Wrap ``module`` so that training forwards see noisy weights ``W + std * N(0, 1)``.

    ``which='weight'`` perturbs every parameter called ``weight`` with two or more
    axes (the connection weights of Linear and Conv layers, not normalisation
    scales); ``which='all'`` perturbs every parameter, biases included.  Works on a
    whole model (``WeightNoise(model, 0.01)``) or on one layer; the wrapped
    parameters stay the module's own (state-dict keys get the prefix ``module.``).
    The noise comes from kisonet's global generator (``kn.manual_seed``) or, with
    ``seed=``, from a generator of the wrapper's own.
    """

    def __init__(self, module: Module, std: float, which: str = "weight", seed: int | None = None) -> None:
        super().__init__()
        check_type("WeightNoise", "module", module, Module, "a Module to wrap")
        std = check_positive("WeightNoise", "std", std, allow_zero=True)
        which = check_choice("WeightNoise", "which", which, _WHICH)
        seed = check_int("WeightNoise", "seed", seed, low=0, allow_none=True)
        self.module = module
        self.std = float(std)
        self.which = which
        self.seed = seed
        self._rng = None if seed is None else kn_random.make_generator(int(seed))

    def _targets(self) -> list[tuple[Module, str, Parameter]]:
        out = []
        for m in self.module.modules():
            for name, p in m._parameters.items():
                if p is None:
                    continue
                if self.which == "all" or (name == "weight" and p.ndim >= 2):
                    out.append((m, name, p))
        return out

    def noisy_parameters(self) -> list[str]:
        """Dotted names (inside the wrapped module) of the parameters that get noise."""
        ids = {id(p) for _, _, p in self._targets()}
        return [name for name, p in self.module.named_parameters() if id(p) in ids]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if not self.training or self.std == 0.0:
            return self.module(*args, **kwargs)
        rng = self._rng if self._rng is not None else kn_random.get_generator()
        targets = self._targets()
        noisy: dict[int, Tensor] = {}  # a parameter shared by two layers gets one noise draw
        for _, _, p in targets:
            if id(p) not in noisy:
                eps = rng.standard_normal(p.shape, dtype=p.dtype)
                eps *= p.dtype.type(self.std)
                # One Add node: its gradient w.r.t. p is the identity, so p.grad is dL/dW~.
                noisy[id(p)] = p + eps
        # Swap the noisy tensors in for the forward pass only, then put the parameters back
        # (even if forward raises), so optimisers and state dicts only ever see clean weights.
        for m, name, p in targets:
            m._parameters[name] = noisy[id(p)]
        try:
            return self.module(*args, **kwargs)
        finally:
            for m, name, p in targets:
                m._parameters[name] = p

    def extra_repr(self) -> str:
        parts = [f"std={self.std}"]
        if self.which != "weight":
            parts.append(f"which={self.which!r}")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return ", ".join(parts)
