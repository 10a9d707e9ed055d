"""Layer math with its hand-derived backward (imported PyTorch-style as ``F``)."""

from .dropout import dropout, gaussian_noise, gaussian_noise_array
from .activation import identity, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .linear import linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mae_loss,
    mse_loss,
    nll_loss,
    squared_error,
)
from .conv import col2im, conv2d, conv_transpose2d, im2col
from .normalization import batch_norm, group_norm, instance_norm, layer_norm
from .pooling import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d, upsample
