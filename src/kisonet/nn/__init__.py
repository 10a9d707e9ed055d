"""Neural-network modules: thin wrappers over :mod:`kisonet.nn.functional`."""

from . import functional, init, utils
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
from .activation import Flatten, Identity, LeakyReLU, Reshape, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .dropout import DropConnect, Dropout, GaussianNoise, set_dropout_scaling
from .linear import Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MAELoss,
    MSELoss,
    NLLLoss,
    SquaredErrorLoss,
)
from .summary import summary
from .conv import Conv2d, ConvTranspose2d
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    InstanceNorm2d,
    LayerNorm,
    set_batch_norm_inference,
)
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample
from .weight_noise import WeightNoise
from .multitask import MultiTask
from .autoencoder import Autoencoder, DenoisingAutoencoder, TiedLinear
