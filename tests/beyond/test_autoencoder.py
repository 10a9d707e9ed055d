"""Autoencoders: the denoising AE beats a plain AE on noisy inputs; corruption only in training;
tied weights; the encoder as a feature extractor; the figure."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet import nn
from kisonet.errors import KisonetValueError, ShapeError
from kisonet.nn.autoencoder import reconstruction_error
from kisonet.viz import reconstruction_figure


def _train(model, X, epochs=15):
    kn.train.Trainer(model, "mse", kn.optim.Adam(model.parameters(), lr=3e-3), progress=False, seed=0).fit(
        (X, X), epochs=epochs
    )
    return model


def test_denoising_autoencoder_reconstructs_noisy_inputs_better_than_a_plain_one(digits):
    (X, _), (Xt, _) = digits
    kn.manual_seed(0)
    plain = _train(nn.Autoencoder.mlp((1, 8, 8), hidden=(64,), code=32), X)
    kn.manual_seed(0)
    dae = _train(nn.DenoisingAutoencoder.mlp((1, 8, 8), hidden=(64,), code=32, noise="gaussian", level=0.3), X)
    noisy_plain = reconstruction_error(plain, Xt, "gaussian", 0.3)
    noisy_dae = reconstruction_error(dae, Xt, "gaussian", 0.3)
    assert noisy_dae < 0.8 * noisy_plain
    # both learned to reconstruct (clean inputs), well below the data's own variance
    assert reconstruction_error(plain, Xt) < 0.3 * float(Xt.var())
    assert reconstruction_error(dae, Xt) < 0.5 * float(Xt.var())


def test_corruption_happens_in_training_mode_only():
    kn.manual_seed(0)
    dae = nn.DenoisingAutoencoder.mlp(16, hidden=(8,), code=4, noise="masking", level=0.5)
    seen = []
    dae.encoder.register_forward_hook(lambda m, args, out: seen.append(args[0].data.copy()))
    x = np.ones((64, 16), np.float32)
    dae.train()
    dae(kn.tensor(x))
    assert 0.4 < np.mean(seen[-1] == 0) < 0.6  # about half the entries masked
    dae.eval()
    dae(kn.tensor(x))
    np.testing.assert_array_equal(seen[-1], x)
    a, b = dae.reconstruct(x), dae.reconstruct(x)
    np.testing.assert_array_equal(a, b)


def test_mlp_and_conv_autoencoders_keep_the_input_shape():
    x = kn.tensor(np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32))
    for ae in (nn.Autoencoder.mlp((1, 8, 8), (16,), 4), nn.Autoencoder.conv((1, 8, 8), (4, 8), code=6)):
        out = ae(x)
        assert out.shape == (3, 1, 8, 8)
        assert float(out.data.min()) >= 0 and float(out.data.max()) <= 1  # sigmoid output
        ((out - x) ** 2).mean().backward()
        assert all(p.grad is not None for p in ae.parameters())
    assert nn.Autoencoder.conv((1, 8, 8), (4, 8), code=6).features(x.data).shape == (3, 6)
    with pytest.raises(ShapeError, match="divisible"):
        nn.Autoencoder.conv((1, 10, 10), (4, 8))
    with pytest.raises(KisonetValueError, match="noise"):
        nn.DenoisingAutoencoder.mlp(16, noise="pink")


def test_tied_decoder_shares_the_encoder_weight_and_its_gradient_is_the_sum():
    kn.manual_seed(0)
    tied = nn.Autoencoder.mlp(12, hidden=(), code=5, activation="tanh", output="linear", tied=True)
    enc, dec = tied.encoder[1], tied.decoder[0]
    assert dec.weight is enc.weight
    assert tied.num_parameters() == 12 * 5 + 5 + 12
    # the same network untied, decoder weight initialised to W^T
    untied = nn.Autoencoder.mlp(12, hidden=(), code=5, activation="tanh", output="linear")
    untied.encoder[1].weight.data[...] = enc.weight.data
    untied.encoder[1].bias.data[...] = enc.bias.data
    untied.decoder[0].weight.data[...] = enc.weight.data.T
    untied.decoder[0].bias.data[...] = dec.bias.data
    x = kn.tensor(np.random.default_rng(1).normal(size=(7, 12)).astype(np.float32))
    for m in (tied, untied):
        ((m(x) - x) ** 2).sum().backward()
    want = untied.encoder[1].weight.grad + untied.decoder[0].weight.grad.T
    np.testing.assert_allclose(enc.weight.grad, want, rtol=1e-4, atol=1e-5)


def test_encoder_is_reusable_as_a_feature_extractor(digits):
    (X, y), (Xt, yt) = digits
    kn.manual_seed(0)
    ae = _train(nn.Autoencoder.mlp((1, 8, 8), hidden=(64,), code=16), X, epochs=5)
    Z = ae.features(Xt)
    assert Z.shape == (len(Xt), 16)
    with kn.no_grad():
        np.testing.assert_allclose(Z, ae.encoder(kn.tensor(Xt)).data, rtol=1e-4, atol=1e-5)
    # a linear classifier on the frozen pre-trained codes
    ae.encoder.requires_grad_(False)
    clf = nn.Sequential(ae.encoder, nn.Linear(16, 10))
    t = kn.train.Trainer(clf, "cross_entropy", kn.optim.Adam(clf[1].parameters(), lr=1e-2), progress=False)
    before = ae.encoder[1].weight.data.copy()
    t.fit((X, y), epochs=5)
    np.testing.assert_array_equal(ae.encoder[1].weight.data, before)  # frozen features
    assert t.evaluate((Xt, yt))["accuracy"] > 0.8


def test_reconstruction_figure_shows_inputs_noisy_and_each_model(tmp_path):
    x = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    models = {"plain": nn.Autoencoder.mlp((1, 8, 8), (8,), 4), "dae": nn.DenoisingAutoencoder.mlp((1, 8, 8), (8,), 4)}
    fig = reconstruction_figure(models, x, "masking", 0.3, path=tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert len(fig.axes) == 4 * 5  # input, noisy, two reconstructions
    labels = [fig.axes[i * 5].get_ylabel() for i in range(4)]
    assert labels == ["input", "masking 0.3", "plain", "dae"]
