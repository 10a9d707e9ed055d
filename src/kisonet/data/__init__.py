"""Data: named datasets, the mini-batch loader, splits, standardisation and file formats.

import kisonet as kn
ds = kn.data.load_dataset("digits")            # ds.train == (X, y), X: (1437, 1, 8, 8) float32
loader = kn.data.DataLoader(ds.train, batch_size=32, seed=0)
for xb, yb in loader: ...                      # NumPy batches, a fresh permutation each epoch
"""

from . import transforms
from .cifar import parse_cifar_records, read_cifar_archive, read_cifar_bin, read_cifar_dir
from .dataset import ArrayDataset, Dataset, Subset, as_dataset
from .datasets import (
    DATASET_NAMES,
    DATASETS,
    DatasetBundle,
    DatasetInfo,
    datasets,
    format_datasets_table,
    load_dataset,
    make_spirals,
)
from .download import REMOTE_FILES, RemoteFile, cache_dir, download_file, fetch, sha256_file
from .idx import load_idx_pair, parse_idx, read_idx, write_idx
from .loader import DataLoader
from .splits import KFold, Standardizer, StratifiedKFold, split_indices, split_train_val, train_val_test_split

from .embedding import pca, tsne

__all__ = [
    "DATASET_NAMES",
    "DATASETS",
    "REMOTE_FILES",
    "ArrayDataset",
    "DataLoader",
    "Dataset",
    "DatasetBundle",
    "DatasetInfo",
    "KFold",
    "RemoteFile",
    "Standardizer",
    "StratifiedKFold",
    "Subset",
    "as_dataset",
    "cache_dir",
    "datasets",
    "download_file",
    "fetch",
    "format_datasets_table",
    "load_dataset",
    "load_idx_pair",
    "make_spirals",
    "parse_cifar_records",
    "parse_idx",
    "pca",
    "read_cifar_archive",
    "read_cifar_bin",
    "read_cifar_dir",
    "read_idx",
    "sha256_file",
    "split_indices",
    "split_train_val",
    "train_val_test_split",
    "transforms",
    "tsne",
    "write_idx",
]
