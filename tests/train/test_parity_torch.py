"""The Trainer's loop against a hand-written PyTorch loop: same batches, same updates."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.train import Trainer


@pytest.mark.parametrize("grad_clip", [None, 0.5])
def test_trainer_matches_a_torch_training_loop(torch, rng, grad_clip):
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for (_, p), tp in zip(model.named_parameters(), tmodel.parameters(), strict=True):
            tp.copy_(torch.from_numpy(p.data.copy()))

    opt = kn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hist = Trainer(model, "cross_entropy", opt, grad_clip=grad_clip, progress=False).fit(
        (X, y), epochs=3, batch_size=8, shuffle=False
    )

    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(3):
        total = 0.0
        for i in range(0, 40, 8):
            xb, yb = torch.from_numpy(X[i : i + 8]), torch.from_numpy(y[i : i + 8])
            loss = torch.nn.functional.cross_entropy(tmodel(xb), yb)
            topt.zero_grad()
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(tmodel.parameters(), grad_clip)
            topt.step()
            total += loss.item() * 8
        losses.append(total / 40)

    for (name, p), tp in zip(model.named_parameters(), tmodel.parameters(), strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(hist["train_loss"], losses, rtol=1e-5)
