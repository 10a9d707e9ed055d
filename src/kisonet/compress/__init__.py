"""Lightweight models (the notes' 軽量化技術): quantisation, pruning and knowledge distillation.

    import kisonet as kn
    from kisonet import compress

    q = compress.quantize_model(model, "int8", scheme="symmetric", per_channel=True)   # a copy
    compress.save_model(q, "model-int8.npz", model_config)      # int8 codes + scales on disk

    compress.magnitude_prune(model, 0.9, scope="global")         # in place; masks kept while training
    compress.iterative_prune(model, (X, y), target=0.9, steps=4) # prune-and-fine-tune on a schedule

    compress.distill.distill(teacher, student, (X, y), T=4.0, alpha=0.1)   # Hinton et al. 2015

``kisonet compress {quantize,prune,distill} RUN_DIR --out DIR`` runs them on a
``kisonet train`` run folder and writes a size / accuracy / speed table and plot.
"""

# The submodules are the namespaces kn.compress.quantize / .prune / .distill; their
# functions of the same name (quantize.quantize, distill.distill) are reached through them.
from . import distill, prune, quantize, report
from .distill import DistillationLoss, Distiller, distillation_loss
from .prune import (
    IterativePruner,
    PruningCallback,
    apply_masks,
    global_unstructured,
    is_pruned,
    iterative_prune,
    l1_unstructured,
    ln_structured,
    magnitude_prune,
    masks_from_zeros,
    prunable_layers,
    remove,
    sparsity,
)
from .quantize import (
    ROUNDINGS,
    FakeQuantize,
    QATConv2d,
    QATLinear,
    QuantizedConv2d,
    QuantizedLinear,
    calibrate,
    compute_qparams,
    convert,
    dequantize,
    fake_quantize,
    fixed_point,
    fixed_point_bits,
    prepare_qat,
    quant_range,
    quantize_dequantize,
    quantize_model,
    quantized_layers,
)
from .report import count_nonzero, evaluate_variant, format_table, load_model, save_model, time_inference

__all__ = [
    "ROUNDINGS",
    "DistillationLoss",
    "Distiller",
    "FakeQuantize",
    "IterativePruner",
    "PruningCallback",
    "QATConv2d",
    "QATLinear",
    "QuantizedConv2d",
    "QuantizedLinear",
    "apply_masks",
    "calibrate",
    "compute_qparams",
    "convert",
    "count_nonzero",
    "dequantize",
    "distill",
    "distillation_loss",
    "evaluate_variant",
    "fake_quantize",
    "fixed_point",
    "fixed_point_bits",
    "format_table",
    "global_unstructured",
    "is_pruned",
    "iterative_prune",
    "l1_unstructured",
    "ln_structured",
    "load_model",
    "magnitude_prune",
    "masks_from_zeros",
    "prepare_qat",
    "prunable_layers",
    "prune",
    "quant_range",
    "quantize",
    "quantize_dequantize",
    "quantize_model",
    "quantized_layers",
    "remove",
    "report",
    "save_model",
    "sparsity",
    "time_inference",
]
