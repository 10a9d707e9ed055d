"""The "textbook NumPy" reference: layer-by-layer NumPy in the style of the book
*Deep Learning from Scratch* (Saito), in float32.

This is the code a student writes from the book (Affine, Relu with a boolean
mask, SoftmaxWithLoss, Convolution and Pooling through im2col/col2im with
argmax), kept as the book has it so the table shows what a straightforward
implementation costs.  It is a benchmark baseline only, not part of kisonet.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
LR = F32(0.01)


def im2col(x, fh, fw, stride=1, pad=0):
    N, C, H, W = x.shape
    oh = (H + 2 * pad - fh) // stride + 1
    ow = (W + 2 * pad - fw) // stride + 1
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, fh, fw, oh, ow), dtype=x.dtype)
    for y in range(fh):
        y_max = y + stride * oh
        for x_ in range(fw):
            x_max = x_ + stride * ow
            col[:, :, y, x_, :, :] = img[:, :, y:y_max:stride, x_:x_max:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * oh * ow, -1)


def col2im(col, shape, fh, fw, stride=1, pad=0):
    N, C, H, W = shape
    oh = (H + 2 * pad - fh) // stride + 1
    ow = (W + 2 * pad - fw) // stride + 1
    col = col.reshape(N, oh, ow, C, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1), dtype=col.dtype)
    for y in range(fh):
        y_max = y + stride * oh
        for x_ in range(fw):
            x_max = x_ + stride * ow
            img[:, :, y:y_max:stride, x_:x_max:stride] += col[:, :, y, x_, :, :]
    return img[:, :, pad : H + pad, pad : W + pad]


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.dW = self.db = None

    def forward(self, x):
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


class SoftmaxWithLoss:
    def forward(self, x, t):
        self.t = t
        x = x - x.max(axis=1, keepdims=True)
        self.y = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
        n = self.y.shape[0]
        return -np.sum(np.log(self.y[np.arange(n), t] + F32(1e-7))) / n

    def backward(self, dout=1):
        n = self.t.shape[0]
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx / F32(n)


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        oh = 1 + (H + 2 * self.pad - FH) // self.stride
        ow = 1 + (W + 2 * self.pad - FW) // self.stride
        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        out = out.reshape(N, oh, ow, -1).transpose(0, 3, 1, 2)
        self.x, self.col, self.col_W = x, col, col_W
        return out

    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = np.dot(dout, self.col_W.T)
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class Pooling:
    def __init__(self, ph, pw, stride=2):
        self.ph, self.pw, self.stride = ph, pw, stride

    def forward(self, x):
        N, C, H, W = x.shape
        oh = 1 + (H - self.ph) // self.stride
        ow = 1 + (W - self.pw) // self.stride
        col = im2col(x, self.ph, self.pw, self.stride).reshape(-1, self.ph * self.pw)
        self.x, self.arg_max = x, np.argmax(col, axis=1)
        return np.max(col, axis=1).reshape(N, oh, ow, C).transpose(0, 3, 1, 2)

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)
        size = self.ph * self.pw
        dmax = np.zeros((dout.size, size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dmax = dmax.reshape(dout.shape + (size,))
        dcol = dmax.reshape(dmax.shape[0] * dmax.shape[1] * dmax.shape[2], -1)
        return col2im(dcol, self.x.shape, self.ph, self.pw, self.stride)


def _init(rng, *shape):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[:-1] if len(shape) == 2 else shape[1:]))).astype(
        F32
    )


class Net:
    """A sequence of layers with SGD, the book's ``gradient`` + update loop."""

    def __init__(self, layers, params):
        self.layers, self.params = layers, params
        self.last = SoftmaxWithLoss()

    def step(self, x, t, lr=LR):
        for layer in self.layers:
            x = layer.forward(x)
        self.last.forward(x, t)
        d = self.last.backward()
        for layer in reversed(self.layers):
            d = layer.backward(d)
        for layer in self.layers:
            if hasattr(layer, "dW"):
                layer.W -= lr * layer.dW
                layer.b -= lr * layer.db


def mlp(sizes=(784, 512, 512, 10), seed=0) -> Net:
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Affine(_init(rng, a, b), np.zeros(b, F32)))
        if i < len(sizes) - 2:
            layers.append(Relu())
    return Net(layers, None)


def simple_cnn(input_dim=(1, 28, 28), filters=30, k=5, hidden=100, classes=10, seed=0) -> Net:
    rng = np.random.default_rng(seed)
    C, H, _ = input_dim
    conv_out = H - k + 1
    pool_out = filters * (conv_out // 2) ** 2
    layers = [
        Convolution(_init(rng, filters, C, k, k), np.zeros(filters, F32)),
        Relu(),
        Pooling(2, 2, 2),
        Affine(_init(rng, pool_out, hidden), np.zeros(hidden, F32)),
        Relu(),
        Affine(_init(rng, hidden, classes), np.zeros(classes, F32)),
    ]
    return Net(layers, None)
