"""Convolution as one matrix product: im2col, col2im, ``conv2d``, ``conv_transpose2d``.

Notation (NCHW): input x (N, C, H, W), weight w (O, C, kh, kw), stride S,
padding P, output y (N, O, OH, OW) with

    OH = (H + P_top + P_bottom - kh) // S_h + 1      (likewise OW)
    y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * x_pad[n, c, S_h*i + p, S_w*j + q].

im2col gathers, for every output pixel, the C*kh*kw input values it sees:
``col[n, (c, p, q), (i, j)] = x_pad[n, c, S_h*i + p, S_w*j + q]``, so that the
convolution is one GEMM per batch ``y[n] = W @ col[n] + b`` with W the weight
viewed as an (O, C*kh*kw) matrix.  The backward pass is two more GEMMs and
col2im, the adjoint of im2col (every column value is added back to the input
pixel it came from):

    dL/dW   = sum_n gy[n] @ col[n]^T           (O, C*kh*kw)
    dL/db   = sum_{n, i, j} gy[n, :, i, j]
    dL/dcol = W^T @ gy[n]                       then  dL/dx = col2im(dL/dcol).

Both im2col and col2im loop over the kh*kw kernel offsets only (each step moves
a whole (N, C, OH, OW) strided block), never over images or pixels.

Speed note (same math, another memory order).  NumPy runs a strided copy or add
as an inner loop over the last axis, so on small images (OW = 10 pixels per row)
it pays its per-loop overhead every 10 numbers.  For such layers conv2d works in
"batch-last" order (C, H, W, N): a kernel offset's block then has rows of OW*N
contiguous numbers, the products become single large GEMMs

    Y = W @ COL   (O, OH*OW*N),   dW = G @ COL^T,   dCOL = W^T @ G,

and two transposes at the boundary restore NCHW.  ``conv2d(..., layout=)`` forces
either order; results are identical up to float rounding.  Batch-last is chosen for
rows under 20 pixels.  In NCHW order with T > 1 threads the batch is split into T
blocks of images, run by T Python threads each with single-threaded BLAS (NumPy
releases the GIL), because OpenBLAS threading inside every small per-image GEMM
stalls on a busy machine (see ``_by_image_blocks``).

The transposed convolution is the adjoint of the convolution: its forward pass is
conv2d's input gradient and its backward pass is conv2d's forward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import threads
from ...autograd import Tensor
from ...autograd.function import Function
from ...errors import KisonetValueError, ShapeError
from ...lang import tr
from ...threads import get_num_threads
from ...validation import check_pair
from . import _workspace

Pad4 = tuple[int, int, int, int]  # (top, bottom, left, right)


# ----------------------------------------------------------------------------
# argument handling


def padding4(name: str, padding: Any, kernel: tuple[int, int], stride: tuple[int, int]) -> Pad4:
    """(top, bottom, left, right) from an int, a pair, or 'same' / 'valid'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise KisonetValueError(
                    tr("{0}: padding='same' needs stride 1 (like PyTorch), got stride {1}", name, stride)
                )
            # PyTorch puts the odd pixel of an even kernel's padding at the bottom/right.
            th, tw = kernel[0] - 1, kernel[1] - 1
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        raise KisonetValueError(tr("{0}: padding must be an int, a pair, 'same' or 'valid', got {1!r}", name, padding))
    ph, pw = check_pair(name, "padding", padding, low=0)
    return (ph, ph, pw, pw)


def conv_output_size(
    name: str, xshape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], pad: Pad4
) -> tuple[int, int]:
    """(H_out, W_out) = ((H + P_top + P_bottom - K) // S + 1, likewise for W): how many windows
    of K pixels, S apart, fit in the padded image; a ShapeError naming ``name`` when none fits."""
    H, W = xshape[2], xshape[3]
    hp, wp = H + pad[0] + pad[1], W + pad[2] + pad[3]
    if hp < kernel[0] or wp < kernel[1]:
        raise ShapeError(
            tr(
                (
                    "{0} got input of shape {1}: the {2}x{3} window does not fit in the padded "
                    "{4}x{5} image (H + 2P - K = {6}, W + 2P - K = {7} must be >= 0)"
                ),
                name,
                tuple(xshape),
                kernel[0],
                kernel[1],
                hp,
                wp,
                hp - kernel[0],
                wp - kernel[1],
            )
        )
    return (hp - kernel[0]) // stride[0] + 1, (wp - kernel[1]) // stride[1] + 1


def pad_array(x: np.ndarray, pad: Pad4, value: float = 0.0) -> np.ndarray:
    if not any(pad):
        return x
    N, C, H, W = x.shape
    out = np.empty((N, C, H + pad[0] + pad[1], W + pad[2] + pad[3]), dtype=x.dtype)
    # Fill only the border: cheaper than np.pad's full zero pass plus copy.
    out[:, :, : pad[0]] = value
    out[:, :, H + pad[0] :] = value
    out[:, :, pad[0] : pad[0] + H, : pad[2]] = value
    out[:, :, pad[0] : pad[0] + H, W + pad[2] :] = value
    out[:, :, pad[0] : pad[0] + H, pad[2] : pad[2] + W] = x
    return out


def _unpad(x: np.ndarray, pad: Pad4, H: int, W: int) -> np.ndarray:
    if not any(pad) and x.shape[2] == H and x.shape[3] == W:
        return x
    return x[:, :, pad[0] : pad[0] + H, pad[2] : pad[2] + W]


# ----------------------------------------------------------------------------
# im2col / col2im


def im2col(
    xp: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    out_hw: tuple[int, int],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """(N, C, Hp, Wp) padded input -> (N, C*kh*kw, OH*OW) columns.

    ``col[n, (c, p, q), (i, j)] = xp[n, c, S_h*i + p, S_w*j + q]``; one strided block
    copy per kernel offset (p, q).  ``out``: a C-contiguous (N, C, kh, kw, OH, OW) array to fill.
    """
    N, C = xp.shape[:2]
    (kh, kw), (sh, sw), (OH, OW) = kernel, stride, out_hw
    # A recycled array when one is idle (see _workspace: no page faults on each step's columns).
    col = _workspace.take((N, C, kh, kw, OH, OW), xp.dtype) if out is None else out
    for p in range(kh):
        for q in range(kw):
            col[:, :, p, q] = xp[:, :, p : p + sh * (OH - 1) + 1 : sh, q : q + sw * (OW - 1) + 1 : sw]
    return col.reshape(N, C * kh * kw, OH * OW)


def col2im(
    col: np.ndarray,
    padded_shape: tuple[int, int, int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    out_hw: tuple[int, int],
) -> np.ndarray:
    """Adjoint of :func:`im2col`: (N, C*kh*kw, OH*OW) -> (N, C, Hp, Wp), adding every
    column entry back into the pixel it was copied from (overlapping windows sum)."""
    N, C, Hp, Wp = padded_shape
    (kh, kw), (sh, sw), (OH, OW) = kernel, stride, out_hw
    col = col.reshape(N, C, kh, kw, OH, OW)
    span_h, span_w = sh * (OH - 1) + 1, sw * (OW - 1) + 1
    if sh >= kh and sw >= kw and Hp == sh * OH and Wp == sw * OW:
        # Non-overlapping windows tiling the image: every pixel is written exactly once.
        x = np.empty(padded_shape, dtype=col.dtype)
        for p in range(kh):
            for q in range(kw):
                x[:, :, p : p + span_h : sh, q : q + span_w : sw] = col[:, :, p, q]
        if sh > kh or sw > kw:  # pixels between windows get no gradient
            x6 = x.reshape(N, C, OH, sh, OW, sw)
            x6[:, :, :, kh:] = 0
            x6[:, :, :, :, :, kw:] = 0
        return x
    x = np.zeros(padded_shape, dtype=col.dtype)
    for p in range(kh):
        for q in range(kw):
            x[:, :, p : p + span_h : sh, q : q + span_w : sw] += col[:, :, p, q]
    return x


def _sum_of_products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum_n a[n] @ b[n]^T for a (N, P, L), b (N, Q, L): the weight gradient.

    Either N small GEMMs summed (cheap when the (N, P, Q) partial results are
    smaller than the inputs, e.g. a first layer with few input channels), or one
    GEMM over the joint (n, l) axis after tensordot's transposing copies.
    """
    N, P, L = a.shape
    Q = b.shape[1]
    if P * Q <= L * (P + Q):
        return np.matmul(a, b.transpose(0, 2, 1)).sum(axis=0)
    return np.tensordot(a, b, axes=([0, 2], [0, 2]))


def _im2col_batch_last(
    xp: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], out_hw: tuple[int, int]
) -> np.ndarray:
    """(C, Hp, Wp, N) padded input -> (C*kh*kw, OH*OW*N) columns (batch-last im2col)."""
    C, N = xp.shape[0], xp.shape[3]
    (kh, kw), (sh, sw), (OH, OW) = kernel, stride, out_hw
    col = _workspace.take((C, kh, kw, OH, OW, N), xp.dtype)
    for p in range(kh):
        for q in range(kw):
            col[:, p, q] = xp[:, p : p + sh * (OH - 1) + 1 : sh, q : q + sw * (OW - 1) + 1 : sw]
    return col.reshape(C * kh * kw, OH * OW * N)


def _col2im_batch_last(
    col: np.ndarray,
    padded_shape: tuple[int, int, int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    out_hw: tuple[int, int],
) -> np.ndarray:
    """Adjoint of :func:`_im2col_batch_last`: (C*kh*kw, OH*OW*N) -> (C, Hp, Wp, N)."""
    C, Hp, Wp, N = padded_shape
    (kh, kw), (sh, sw), (OH, OW) = kernel, stride, out_hw
    col = col.reshape(C, kh, kw, OH, OW, N)
    x = np.zeros(padded_shape, dtype=col.dtype)
    for p in range(kh):
        for q in range(kw):
            x[:, p : p + sh * (OH - 1) + 1 : sh, q : q + sw * (OW - 1) + 1 : sw] += col[:, p, q]
    return x


def _pad_batch_last(x: np.ndarray, pad: Pad4) -> np.ndarray:
    """NCHW x -> zero-padded (C, Hp, Wp, N): the transpose and the padding in one copy."""
    N, C, H, W = x.shape
    xp = np.zeros((C, H + pad[0] + pad[1], W + pad[2] + pad[3], N), dtype=x.dtype)
    xp[:, pad[0] : pad[0] + H, pad[2] : pad[2] + W, :] = x.transpose(1, 2, 3, 0)
    return xp


_POOL: list = [None, 0, 0]  # (ThreadPoolExecutor, its size, the process id that made it)


def _by_image_blocks(fn, n: int) -> list:
    """``[fn(s) for s in blocks]`` over blocks of the batch axis, in parallel.

    With T > 1 BLAS threads the batch is cut into T blocks of images run by T Python
    threads (NumPy releases the GIL in copies and products), each with single-threaded
    BLAS.  Why: the per-image GEMMs of a convolution are small, and OpenBLAS splitting
    each of them over threads costs a synchronisation per image; on a busy machine a
    descheduled partner thread stalls every one of them (measured: Conv2d(6->16, 5x5)
    fwd+bwd on (128, 6, 16, 16), 2 threads on a loaded 2-core VM: 790 ms with 2 BLAS
    threads, 148 ms with one, 67 ms as 2 blocks of 64 images).  With one thread, or too
    few images, it is just ``[fn(slice(None))]``: the plain whole-batch code.
    """
    t = get_num_threads()
    if t < 2 or n < 2 * t:
        return [fn(slice(None))]
    import os
    from concurrent.futures import ThreadPoolExecutor

    if _POOL[0] is None or _POOL[1] != t or _POOL[2] != os.getpid():  # a forked child needs its own
        _POOL[:] = [ThreadPoolExecutor(max_workers=t, thread_name_prefix="kisonet-conv"), t, os.getpid()]
    edges = [n * i // t for i in range(t + 1)]
    with threads.blas_threads(1):
        return list(_POOL[0].map(fn, [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]))


def _choose_layout(layout: str | None, out_hw: tuple[int, int], n: int) -> str:
    if layout is not None:
        return layout
    # Measured (float32, 1 BLAS thread): batch-last is 25-40% faster when output rows are
    # short (LeNet's 16x16 and 10x10), where the per-row overhead of NCHW strided loops
    # dominates; NCHW wins for wide rows (MNIST 28x28 -> 24x24, 32x32), where batch-last's
    # output transpose costs more than it saves.  The same holds with 2 threads (the
    # batch-last GEMM is one large product that BLAS threads well): LeNet+BN step, 2
    # threads, 61-67 ms with NCHW image blocks for every layer, 50-57 ms with batch-last
    # for the 16x16 layer.
    if out_hw[1] < 20 and n > 1:
        return "batch_last"
    return "nchw"


# ----------------------------------------------------------------------------
# conv2d


class Conv2dFunction(Function):
    """y = conv2d(x, w) + b as im2col + one GEMM per image (see the module docstring).

    Forward:   col = im2col(pad(x));  y[n] = W @ col[n] + b          W: (O, C*kh*kw)
    Backward:  dW = sum_n gy[n] @ col[n]^T;  db = sum_{n,i,j} gy;
               dx = unpad(col2im(W^T @ gy[n]))   (skipped when x needs no gradient,
               e.g. the first layer, whose input is the data).
    Options: ``stride`` (sh, sw), ``pad`` (top, bottom, left, right), ``out_hw``,
    ``layout`` ('nchw' or 'batch_last': the memory order of the columns, see the
    module docstring; the same products either way).
    """

    layout = "nchw"

    def forward(self, x, w, b=None):
        O, C, kh, kw = w.shape
        N = x.shape[0]
        self.kernel = (kh, kw)
        w2 = w.reshape(O, C * kh * kw)
        keep = self.requires_grad
        if self.layout == "batch_last":
            xp = _pad_batch_last(x, self.pad)
            col = _im2col_batch_last(xp, self.kernel, self.stride, self.out_hw)
            y = w2 @ col  # (O, OH*OW*N): one GEMM for the whole batch
            if not keep or not self.needs_input_grad[1]:
                _workspace.give(col)
                col = None
            if b is not None:
                y += b.reshape(O, 1)
            y = np.ascontiguousarray(y.reshape(O, *self.out_hw, N).transpose(3, 0, 1, 2))
        else:
            xp = pad_array(x, self.pad)
            OH, OW = self.out_hw
            col6 = _workspace.take((N, C, kh, kw, OH, OW), xp.dtype)
            y = np.empty((N, O, OH * OW), dtype=np.result_type(w2, xp))

            def block(s: slice) -> None:  # images s: their columns, then y[n] = W @ col[n]
                np.matmul(w2, im2col(xp[s], self.kernel, self.stride, self.out_hw, out=col6[s]), out=y[s])

            _by_image_blocks(block, N)
            col = col6.reshape(N, C * kh * kw, OH * OW)  # (N, O, OH*OW) y is already NCHW
            if not keep or not self.needs_input_grad[1]:
                _workspace.give(col)
                col = None
            if b is not None:
                y += b.reshape(1, O, 1)
            y = y.reshape(N, O, *self.out_hw)
        if keep:
            # the columns are needed only for dW: frozen weights free them right away
            self.col = col
            self.w2 = w2
            self.x_shape, self.xp_shape, self.w_shape = x.shape, xp.shape, w.shape
        return y

    def backward(self, gy):
        N, O = gy.shape[:2]
        need = self.needs_input_grad
        gx = gw = gb = None
        H, W = self.x_shape[2], self.x_shape[3]
        pt, pl = self.pad[0], self.pad[2]
        if self.layout == "batch_last":
            g = np.ascontiguousarray(gy.transpose(1, 2, 3, 0)).reshape(O, -1)  # (O, OH*OW*N)
            if need[1]:
                gw = (g @ self.col.T).reshape(self.w_shape)
            if len(need) > 2 and need[2]:
                gb = np.einsum("om->o", g)
            if need[0]:
                gcol = np.matmul(self.w2.T, g, out=_workspace.take((self.w2.shape[1], g.shape[1]), g.dtype))
                gxp = _col2im_batch_last(gcol, self.xp_shape, self.kernel, self.stride, self.out_hw)
                _workspace.give(gcol)
                gx = np.ascontiguousarray(gxp[:, pt : pt + H, pl : pl + W, :].transpose(3, 0, 1, 2))
            return (gx, gw, gb) if len(need) > 2 else (gx, gw)
        g = gy.reshape(N, O, -1)
        if need[1]:
            parts = _by_image_blocks(lambda s: _sum_of_products(g[s], self.col[s]), N)
            gw = (parts[0] if len(parts) == 1 else sum(parts)).reshape(self.w_shape)
        if len(need) > 2 and need[2]:
            gb = np.einsum("nol->o", g)  # sum over images and pixels; einsum is ~3x faster than .sum here
        if need[0]:

            def block(s: slice) -> np.ndarray:  # images s: dcol[n] = W^T @ gy[n], then col2im
                gs = g[s]
                gcol = np.matmul(self.w2.T, gs, out=_workspace.take((len(gs), self.w2.shape[1], gs.shape[2]), g.dtype))
                gxp = col2im(gcol, (len(gs), *self.xp_shape[1:]), self.kernel, self.stride, self.out_hw)
                _workspace.give(gcol)  # col2im made a new array: the columns are scratch again
                return gxp

            parts = _by_image_blocks(block, N)
            gxp = parts[0] if len(parts) == 1 else np.concatenate(parts)
            gx = _unpad(gxp, self.pad, H, W)
        return (gx, gw, gb) if len(need) > 2 else (gx, gw)

    def _release(self) -> None:
        # backward is done with the columns: the next step's im2col reuses their memory
        _workspace.give(getattr(self, "col", None))


def _as_tensor(a: Any) -> Tensor:
    if isinstance(a, Tensor):
        return a
    from ...autograd import as_tensor

    return as_tensor(a)


def _describe_conv(name: str | None, C: int, O: int, kernel: tuple[int, int]) -> str:
    return name or f"conv2d({C}->{O}, {kernel[0]}x{kernel[1]})"


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    *,
    layout: str | None = None,
    _name: str | None = None,
) -> Tensor:
    """2-D convolution (cross-correlation, like PyTorch) of NCHW ``input`` with ``weight``
    (out_ch, in_ch, kh, kw) and optional ``bias`` (out_ch,).

    ``y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] x_pad[n,c,S*i+p,S*j+q]``, output size
    ``(H + 2P - K) // S + 1``.  ``padding`` is an int, a pair, ``'valid'`` or ``'same'``
    (stride 1; an even kernel pads one more pixel at the bottom/right, as PyTorch).
    ``layout`` ('nchw' / 'batch_last'; default: batch-last for output rows under 20
    pixels, else NCHW) only picks the memory order of the im2col
    matrix, for speed.
    """
    x, w = _as_tensor(input), _as_tensor(weight)
    if w.ndim != 4:
        raise ShapeError(tr("conv2d: weight must have shape (out_ch, in_ch, kh, kw), got {0}", w.shape))
    O, C, kh, kw = w.shape
    name = _describe_conv(_name, C, O, (kh, kw))
    if x.ndim != 4 or x.shape[1] != C:
        raise ShapeError(tr("{0} got input of shape {1}; expected (N, {2}, H, W)", name, x.shape, C))
    stride_ = check_pair(name, "stride", stride, low=1)
    pad = padding4(name, padding, (kh, kw), stride_)
    out_hw = conv_output_size(name, x.shape, (kh, kw), stride_, pad)
    args = (x, w) if bias is None else (x, w, _as_tensor(bias))
    if bias is not None and args[2].shape != (O,):
        raise ShapeError(tr("{0}: bias must have shape ({1},), got {2}", name, O, args[2].shape))
    if layout not in (None, "nchw", "batch_last"):
        raise KisonetValueError(tr("{0}: layout must be 'nchw' or 'batch_last', got {1!r}", name, layout))
    layout = _choose_layout(layout, out_hw, x.shape[0])
    return Conv2dFunction.apply(*args, stride=stride_, pad=pad, out_hw=out_hw, layout=layout)


# ----------------------------------------------------------------------------
# conv_transpose2d


class ConvTranspose2dFunction(Function):
    """Transposed convolution, the adjoint of conv2d (weight (C_in, C_out, kh, kw)).

    Forward:   col[n] = W^T @ x[n]  (C_out*kh*kw, H*W);  y = crop(col2im(col)) + b
    Backward:  gcol = im2col(pad(gy));  dx[n] = W @ gcol[n];
               dW = sum_n x[n] @ gcol[n]^T;  db = sum_{n,i,j} gy
    where W is the weight viewed as (C_in, C_out*kh*kw), im2col/col2im use the
    stride, and crop removes ``padding`` pixels from each border of the
    (H-1)*S + K + output_padding full output.
    """

    def forward(self, x, w, b=None):
        N, Ci, H, W = x.shape
        _, Co, kh, kw = w.shape
        self.kernel = (kh, kw)
        w2 = w.reshape(Ci, Co * kh * kw)
        x2 = x.reshape(N, Ci, H * W)
        col = np.matmul(w2.T, x2)
        full = col2im(col, self.full_shape, self.kernel, self.stride, (H, W))
        y = _unpad(full, self.pad, *self.out_hw)
        y = np.ascontiguousarray(y) if b is None else y + b.reshape(1, Co, 1, 1)
        if self.requires_grad:
            self.x2, self.w2, self.w_shape, self.x_shape = x2, w2, w.shape, x.shape
        return y

    def backward(self, gy):
        N, Ci, H, W = self.x_shape
        need = self.needs_input_grad
        gx = gw = gb = None
        full = np.zeros(self.full_shape, dtype=gy.dtype)
        full[:, :, self.pad[0] : self.pad[0] + gy.shape[2], self.pad[2] : self.pad[2] + gy.shape[3]] = gy
        gcol = im2col(full, self.kernel, self.stride, (H, W))  # (N, Co*kh*kw, H*W)
        if need[0]:
            gx = np.matmul(self.w2, gcol).reshape(self.x_shape)
        if need[1]:
            gw = _sum_of_products(self.x2, gcol).reshape(self.w_shape)
        _workspace.give(gcol)
        if len(need) > 2 and need[2]:
            gb = np.einsum("nohw->o", gy)
        return (gx, gw, gb) if len(need) > 2 else (gx, gw)


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    *,
    _name: str | None = None,
) -> Tensor:
    """Transposed ("fractionally strided") convolution, weight (in_ch, out_ch, kh, kw).

    Output size ``(H - 1)*S - 2P + K + output_padding``; it is the gradient of
    ``conv2d`` with respect to its input, so ``ConvTranspose2d(k, s)`` undoes the
    shape change of ``Conv2d(k, s)`` (used by convolutional autoencoders).
    """
    x, w = _as_tensor(input), _as_tensor(weight)
    if w.ndim != 4:
        raise ShapeError(tr("conv_transpose2d: weight must have shape (in_ch, out_ch, kh, kw), got {0}", w.shape))
    Ci, Co, kh, kw = w.shape
    name = _name or f"conv_transpose2d({Ci}->{Co}, {kh}x{kw})"
    if x.ndim != 4 or x.shape[1] != Ci:
        raise ShapeError(tr("{0} got input of shape {1}; expected (N, {2}, H, W)", name, x.shape, Ci))
    sh, sw = check_pair(name, "stride", stride, low=1)
    ph, pw = check_pair(name, "padding", padding, low=0)
    oph, opw = check_pair(name, "output_padding", output_padding, low=0)
    if oph >= sh or opw >= sw:
        raise KisonetValueError(
            tr("{0}: output_padding {1} must be smaller than the stride {2}", name, (oph, opw), (sh, sw))
        )
    N, _, H, W = x.shape
    full_h, full_w = (H - 1) * sh + kh + oph, (W - 1) * sw + kw + opw
    out_h, out_w = full_h - 2 * ph, full_w - 2 * pw
    if out_h < 1 or out_w < 1:
        raise ShapeError(
            tr(
                "{0} got input of shape {1}: output size (H-1)*S - 2P + K + output_padding = {2}x{3} is empty",
                name,
                x.shape,
                out_h,
                out_w,
            )
        )
    args = (x, w) if bias is None else (x, w, _as_tensor(bias))
    if bias is not None and args[2].shape != (Co,):
        raise ShapeError(tr("{0}: bias must have shape ({1},), got {2}", name, Co, args[2].shape))
    return ConvTranspose2dFunction.apply(
        *args,
        stride=(sh, sw),
        pad=(ph, ph + oph, pw, pw + opw),
        full_shape=(N, Co, full_h, full_w),
        out_hw=(out_h, out_w),
    )
