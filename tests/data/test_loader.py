"""DataLoader: sampling without replacement, reshuffling, seeding, drop_last, exact resume."""

from __future__ import annotations

import numpy as np
import pytest

import kisonet as kn
from kisonet.data import ArrayDataset, DataLoader, Subset


def _data(n=103):
    X = np.arange(n, dtype=np.float32).reshape(n, 1) * np.ones((1, 3), np.float32)
    y = np.arange(n, dtype=np.int64)
    return X, y


def _epoch_labels(loader):
    return [yb.copy() for _, yb in loader]


def test_every_sample_exactly_once_per_epoch_and_batch_sizes():
    X, y = _data(103)
    loader = DataLoader((X, y), batch_size=10, seed=0)
    assert len(loader) == 11
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [10] * 10 + [3]
    seen = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(np.sort(seen), y)
    for xb, yb in batches:  # features travel with their labels
        assert isinstance(xb, np.ndarray) and xb.dtype == np.float32
        np.testing.assert_array_equal(xb[:, 0], yb.astype(np.float32))


def test_order_changes_across_epochs_but_not_across_same_seed():
    X, y = _data(50)
    a = DataLoader((X, y), batch_size=8, seed=3)
    b = DataLoader((X, y), batch_size=8, seed=3)
    e1, e2 = np.concatenate(_epoch_labels(a)), np.concatenate(_epoch_labels(a))
    assert not np.array_equal(e1, e2)
    np.testing.assert_array_equal(np.sort(e2), y)
    np.testing.assert_array_equal(e1, np.concatenate(_epoch_labels(b)))
    assert not np.array_equal(e1, np.concatenate(_epoch_labels(DataLoader((X, y), batch_size=8, seed=4))))
    assert a.epoch == 2


def test_seed_none_follows_manual_seed():
    X, y = _data(40)
    kn.manual_seed(7)
    first = np.concatenate(_epoch_labels(DataLoader((X, y), batch_size=8)))
    kn.manual_seed(7)
    again = np.concatenate(_epoch_labels(DataLoader((X, y), batch_size=8)))
    np.testing.assert_array_equal(first, again)


def test_no_shuffle_keeps_order():
    X, y = _data(25)
    out = np.concatenate(_epoch_labels(DataLoader((X, y), batch_size=4, shuffle=False)))
    np.testing.assert_array_equal(out, y)


def test_drop_last():
    X, y = _data(103)
    loader = DataLoader((X, y), batch_size=10, drop_last=True, seed=0)
    assert len(loader) == 10
    sizes = [len(yb) for _, yb in loader]
    assert sizes == [10] * 10
    # the dropped samples vary by epoch: over several epochs every sample is seen
    seen = np.concatenate([yb for _ in range(20) for _, yb in loader])
    assert np.unique(seen).size == 103


@pytest.mark.parametrize("stop_after", [0, 3, 7])
def test_state_dict_resume_gives_same_subsequent_batches(stop_after):
    X, y = _data(77)
    ref = DataLoader((X, y), batch_size=10, seed=11)
    _epoch_labels(ref)  # one full epoch first
    it = iter(ref)
    for _ in range(stop_after):
        next(it)
    state = ref.state_dict()
    rest = [yb for _, yb in it] + _epoch_labels(ref)  # remainder of this epoch, then the next one

    other = DataLoader((X, y), batch_size=10, seed=999)
    other.load_state_dict(state)
    resumed = _epoch_labels(other) + _epoch_labels(other)
    assert len(resumed) == len(rest)
    for a, b in zip(rest, resumed, strict=True):
        np.testing.assert_array_equal(a, b)
    assert other.epoch == ref.epoch


def test_state_dict_between_epochs_is_json_friendly():
    import json

    X, y = _data(30)
    a = DataLoader((X, y), batch_size=7, seed=1)
    _epoch_labels(a)
    state = json.loads(json.dumps(a.state_dict()))
    b = DataLoader((X, y), batch_size=7, seed=2)
    b.load_state_dict(state)
    for u, v in zip(_epoch_labels(a), _epoch_labels(b), strict=True):
        np.testing.assert_array_equal(u, v)


def test_load_state_dict_rejects_other_dataset_size():
    a = DataLoader(_data(30), batch_size=7, seed=1)
    b = DataLoader(_data(31), batch_size=7, seed=1)
    with pytest.raises(kn.KisonetValueError, match="30 samples"):
        b.load_state_dict(a.state_dict())


def test_transform_applied_per_batch():
    X, y = _data(20)
    calls = []

    def t(xb):
        calls.append(xb.shape[0])
        return xb * 2

    loader = DataLoader((X, y), batch_size=6, shuffle=False, transform=t)
    xb, yb = next(iter(loader))
    np.testing.assert_array_equal(xb[:, 0], 2 * yb.astype(np.float32))
    list(loader)
    assert calls[-4:] == [6, 6, 6, 2]


class _ListDataset:
    """A user's own dataset: only __len__ and __getitem__."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2, 2), i, np.float32), i


def test_generic_dataset_protocol_is_stacked():
    loader = DataLoader(_ListDataset(13), batch_size=5, seed=0)
    batches = list(loader)
    assert batches[0][0].shape == (5, 2, 2)
    seen = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(13))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0, 0], yb)


def test_array_dataset_batch_gather_and_subset():
    X, y = _data(10)
    ds = ArrayDataset(X, y)
    xb, yb = ds[np.array([3, 1])]
    np.testing.assert_array_equal(yb, [3, 1])
    sub = Subset(ds, [9, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 9
    np.testing.assert_array_equal(sub[np.array([2, 0])][1], [5, 9])
    seen = np.concatenate([b for _, b in DataLoader(sub, batch_size=2, seed=0)])
    np.testing.assert_array_equal(np.sort(seen), [2, 5, 9])


def test_errors_name_the_numbers():
    X, y = _data(10)
    with pytest.raises(kn.ShapeError, match="10 samples"):
        ArrayDataset(X, y[:9])
    with pytest.raises(kn.KisonetValueError, match="empty"):
        DataLoader((X[:0], y[:0]))
    with pytest.raises(kn.KisonetValueError, match="DataLoader: batch_size must be an int >= 1, got 0"):
        DataLoader((X, y), batch_size=0)
    with pytest.raises(kn.KisonetValueError, match="batch_size=11 > 10"):
        DataLoader((X, y), batch_size=11, drop_last=True)
    assert len(DataLoader((X, y), batch_size=11)) == 1
