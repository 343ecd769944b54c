"""DataLoader: Magenta preprocessing, step-seeded batches, tf.data (sketch_rnn_tf.data.loader)."""

import json
import os

import numpy as np
import pytest

from sketch_rnn_tf.data import DataError, DataLoader, eval_batches, load_npz, pad_batch

from _paths import SHARED as SHARED_ROOT

SHEEP = os.path.join(SHARED_ROOT, "data/npz/aaron_sheep.npz")
REFERENCE = os.path.join(SHARED_ROOT, "data/magenta_graph/cond_lstm_layer_norm/reference.json")

pytestmark = pytest.mark.skipif(not os.path.isfile(SHEEP), reason="real data not available")
SCALE = 18.5198


@pytest.fixture(scope="module")
def sheep():
    return load_npz(SHEEP)


@pytest.fixture(scope="module")
def train_loader(sheep):
    return DataLoader(
        sheep["train"][:1000],
        16,
        200,
        SCALE,
        random_scale_factor=0.15,
        augment_stroke_prob=0.1,
        seed=3,
    )


def test_preprocess_filters_clamps_normalises_sorts():
    a = np.array([[5000, -3, 0], [2, 4, 0], [1, 1, 1]], np.int16)
    b = np.array([[10, 20, 0], [-2000, 6, 1]], np.int16)
    c = np.zeros((9, 3), np.int16)  # longer than max_seq_len: dropped
    loader = DataLoader([a, c, b], batch_size=1, max_seq_len=5, scale_factor=2.0)
    assert len(loader) == 2 and loader.num_dropped == 1 and loader.num_batches == 2
    assert [len(s) for s in loader.strokes] == [2, 3]  # sorted by length
    assert loader.order.tolist() == [2, 0]
    assert all(s.dtype == np.float32 for s in loader.strokes)
    np.testing.assert_array_equal(loader.strokes[1], [[500, -1.5, 0], [1, 2, 0], [0.5, 0.5, 1]])
    np.testing.assert_array_equal(loader.strokes[0], [[5, 10, 0], [-500, 3, 1]])


def test_batch_for_step_is_pure_function_of_seed_and_step(sheep, train_loader):
    x1, l1 = train_loader.batch_for_step(41)
    x2, l2 = train_loader.batch_for_step(41)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(l1, l2)
    x3, _ = train_loader.batch_for_step(42)
    assert not np.array_equal(x1, x3)
    # A fresh loader (e.g. after a crash) reproduces the same step, in any order.
    again = DataLoader(
        sheep["train"][:1000],
        16,
        200,
        SCALE,
        random_scale_factor=0.15,
        augment_stroke_prob=0.1,
        seed=3,
    )
    again.batch_for_step(0)
    np.testing.assert_array_equal(again.batch_for_step(41)[0], x1)
    other = DataLoader(
        sheep["train"][:1000],
        16,
        200,
        SCALE,
        random_scale_factor=0.15,
        augment_stroke_prob=0.1,
        seed=4,
    )
    assert not np.array_equal(other.batch_for_step(41)[0], x1)


def test_batch_layout_and_augmentation(train_loader):
    idx, (x, seq_len) = train_loader.indices_and_batch_for_step(5)
    assert x.shape == (16, 201, 5) and x.dtype == np.float32
    assert seq_len.shape == (16,) and seq_len.dtype == np.int32
    assert len(set(idx.tolist())) == 16
    np.testing.assert_array_equal(x[:, 0], np.tile([0, 0, 1, 0, 0], (16, 1)))
    for i in range(16):
        n = seq_len[i]
        src = train_loader.strokes[idx[i]]
        assert 2 <= n <= len(src)
        assert not x[i, 1 : n + 1, 4].any() and x[i, n + 1 :, 4].all()
        np.testing.assert_array_equal(x[i, 1 : n + 1, 2] + x[i, 1 : n + 1, 3], np.ones(n))
        # augment_strokes keeps the pen lifts; random_scale stretches x, y by at most 15 %
        assert x[i, 1 : n + 1, 3].sum() == src[:, 2].sum()
        ratio = x[i, 1 : n + 1, :2].sum(0) / src[:, :2].sum(0)
        assert np.all((ratio > 0.85 - 1e-4) & (ratio < 1.15 + 1e-4))
    dropped = sum(len(train_loader.strokes[j]) - n for j, n in zip(idx, seq_len))
    assert dropped > 0  # augment_stroke_prob=0.1 removed some points


def test_get_batch_is_sequential_without_augmentation(train_loader):
    x, seq_len = train_loader.get_batch(2)
    ref_x, ref_len = pad_batch(train_loader.strokes[32:48], 200)
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(seq_len, ref_len)
    assert train_loader.num_batches == len(train_loader) // 16
    with pytest.raises(DataError, match="out of range"):
        train_loader.get_batch(train_loader.num_batches)


@pytest.mark.skipif(not os.path.isfile(REFERENCE), reason="reference checkpoint data not available")
def test_sequential_order_matches_magenta_reference_batch(sheep):
    ref = json.load(open(REFERENCE))
    loader = DataLoader(sheep["test"][:8], 8, 250, ref["scale_factor"])
    x, seq_len = loader.get_batch(0)
    assert seq_len.tolist() == [len(s) for s in ref["sketches"]]
    for i, s in enumerate(ref["sketches"]):
        s = np.asarray(s, np.float32)
        np.testing.assert_allclose(
            x[i, 1 : len(s) + 1, :2], s[:, :2] / np.float32(ref["scale_factor"]), rtol=1e-6
        )


def test_eval_batches(sheep):
    batches = eval_batches(sheep["valid"], 64, 250, SCALE)
    assert len(batches) == 300 // 64
    rest = eval_batches(sheep["valid"], 64, 250, SCALE, drop_remainder=False)
    assert len(rest) == 5 and rest[-1][0].shape == (300 - 4 * 64, 251, 5)
    assert sum(len(b[1]) for b in rest) == 300
    np.testing.assert_array_equal(rest[0][0], batches[0][0])


def test_too_few_sketches_for_a_batch(sheep):
    loader = DataLoader(sheep["valid"][:3], 4, 250, SCALE)
    with pytest.raises(DataError, match="fewer than batch_size=4"):
        loader.batch_for_step(0)


def test_as_dataset_shapes_and_resume(train_loader):
    import tensorflow as tf

    ds = train_loader.as_dataset(start_step=7)
    assert (
        ds.element_spec[0].shape.as_list() == [16, 201, 5]
        and ds.element_spec[0].dtype == tf.float32
    )
    assert ds.element_spec[1].shape.as_list() == [16] and ds.element_spec[1].dtype == tf.int32
    for k, (x, seq_len) in enumerate(ds.take(2)):
        ref_x, ref_len = train_loader.batch_for_step(7 + k)
        np.testing.assert_array_equal(x.numpy(), ref_x)
        np.testing.assert_array_equal(seq_len.numpy(), ref_len)
