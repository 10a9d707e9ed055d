"""Training: the Trainer loop, callbacks, metrics, cross-validation and classical baselines.

import kisonet as kn
trainer = kn.train.Trainer(model, "cross_entropy", kn.optim.SGD(model.parameters(), lr=0.1),
                           metrics=("accuracy",), callbacks=[kn.train.EarlyStopping(patience=5)])
history = trainer.fit(X_train, y_train, val=(X_val, y_val), epochs=50, batch_size=32)
trainer.evaluate((X_test, y_test))      # {'loss': ..., 'accuracy': ...}
"""

from . import callbacks, metrics
from .baselines import LinearRegression, polynomial_features, polynomial_fit, polynomial_predict
from .callbacks import (
    AFTER_HISTORY,
    HISTORY_ORDER,
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LayerGradNorms,
    LRSchedulerCallback,
    ModelCheckpoint,
    ProgressBar,
    TerminateOnNaN,
)
from .metrics import (
    Metric,
    accuracy,
    confusion_matrix,
    f1_score,
    get_metric,
    mae,
    mse,
    precision,
    precision_recall_f1,
    r2_score,
    recall,
    rmse,
    top_k_accuracy,
)
from .history import History
from .interrupt import CHECKPOINT_KIND, GracefulInterrupt
from .selection import cross_validate, select_model
from .trainer import Trainer

__all__ = [
    "AFTER_HISTORY",
    "CHECKPOINT_KIND",
    "HISTORY_ORDER",
    "History",
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "GracefulInterrupt",
    "LRSchedulerCallback",
    "LambdaCallback",
    "LayerGradNorms",
    "LinearRegression",
    "Metric",
    "ModelCheckpoint",
    "ProgressBar",
    "TerminateOnNaN",
    "Trainer",
    "accuracy",
    "callbacks",
    "confusion_matrix",
    "cross_validate",
    "f1_score",
    "get_metric",
    "mae",
    "metrics",
    "mse",
    "polynomial_features",
    "polynomial_fit",
    "polynomial_predict",
    "precision",
    "precision_recall_f1",
    "r2_score",
    "recall",
    "rmse",
    "select_model",
    "top_k_accuracy",
]
