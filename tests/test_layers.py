"""The factorised convolutions equal their generic 3-D definitions; shapes of each layer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from hrjax.models import channels_first, layers
from hrjax.models.video import FROM_CHANNELS_FIRST, TO_CHANNELS_FIRST


def to_first(x):
  """[B, T, H, W, C] -> the channel-first blocks' [C, H, W, B, T]."""
  return jnp.transpose(x, TO_CHANNELS_FIRST)


def to_last(x):
  return jnp.transpose(x, FROM_CHANNELS_FIRST)


def conv3d(x, w, strides=(1, 1, 1)):
  """Reference: a generic 3-D convolution, [B, T, H, W, C] x [kt, kh, kw, Cin, Cout]."""
  return lax.conv_general_dilated(x, w, strides, 'SAME',
                                  dimension_numbers=('NDHWC', 'DHWIO', 'NDHWC'))


@pytest.fixture
def rng():
  return np.random.default_rng(0)


def test_spatial_conv_is_a_1kk_conv3d(rng):
  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(2, 5, 9, 9, 3)))
    w = jnp.asarray(rng.normal(size=(3, 3, 3, 4)))
    for stride in (1, 2):
      got = layers.spatial_conv(x, w, stride)
      want = conv3d(x, w[None], (1, stride, stride))
      assert got.shape == want.shape
      np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('h, w, k, stride', [(36, 36, 3, 2), (9, 9, 3, 1), (7, 10, 3, 2),
                                             (10, 10, 5, 2), (11, 8, 3, 3), (5, 6, 4, 2),
                                             (8, 8, 1, 1), (9, 9, 2, 2)])
def test_channels_first_spatial_conv_is_the_spatial_conv(rng, h, w, k, stride):
  """Patches x weights on [C, H, W, B, T] == lax conv on [B, T, H, W, C] (SAME, any k, stride)."""
  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(2, 3, h, w, 3)))
    wts = jnp.asarray(rng.normal(size=(k, k, 3, 4)))
    xc = to_first(x)
    assert channels_first.space_patches(xc, k, stride).shape[0] == k * k * 3
    got = to_last(channels_first.spatial_conv(xc, wts, stride))
    np.testing.assert_allclose(got, layers.spatial_conv(x, wts, stride), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('k', [1, 2, 3, 4, 5])
def test_channels_first_temporal_conv_and_projection(rng, k):
  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(2, 7, 4, 5, 3)))
    wt = jnp.asarray(rng.normal(size=(k, 3, 6)))
    wp = jnp.asarray(rng.normal(size=(3, 2)))
    xc = to_first(x)
    got = to_last(channels_first.temporal_conv(xc, wt))
    np.testing.assert_allclose(got, layers.temporal_conv(x, wt), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_last(channels_first.pointwise(xc, wp)), x @ wp,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('stride', [1, 2])
def test_channels_first_block_equals_the_conv_block_values_and_gradients(rng, stride):
  """The same parameters give the same output and the same gradients in either layout."""
  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(2, 6, 12, 12, 3)))
    ctx = jnp.asarray(rng.normal(size=(2, 12, 12, 3)))
    plain = layers.FactorisedBlock(mid=4, out=5, stride=stride)
    first = layers.FactorisedBlock(mid=4, out=5, stride=stride, channels_first=True)
    params = plain.init(jax.random.key(0), x, ctx)['params']
    params = jax.tree.map(lambda p: p + 0.1 * rng.normal(size=p.shape), params)
    side = 12 // stride
    target = jnp.asarray(rng.normal(size=(2, 6, side, side, 5)))

    def loss(p, inp, block, turn):
      return ((turn(block.apply({'params': p}, inp, ctx)) - target) ** 2).sum()

    want, want_grads = jax.value_and_grad(loss, argnums=(0, 1))(params, x, plain, lambda y: y)
    got, got_grads = jax.value_and_grad(loss, argnums=(0, 1))(
        params, to_first(x), first, to_last)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got_params, got_x = got_grads
    want_params, want_x = want_grads
    np.testing.assert_allclose(to_last(got_x), want_x, rtol=1e-10, atol=1e-10)
    assert jax.tree.structure(got_params) == jax.tree.structure(want_params)
    for a, b in zip(jax.tree.leaves(got_params), jax.tree.leaves(want_params)):
      np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_avg_pool_space_is_the_window_mean(rng):
  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(2, 3, 9, 8, 4)))
    want = x[:, :, :8, :8].reshape(2, 3, 4, 2, 4, 2, 4).mean(axis=(3, 5))
    assert layers.avg_pool_space(x, 2).shape == (2, 3, 4, 4, 4)  # the trailing row dropped
    np.testing.assert_allclose(layers.avg_pool_space(x, 2), want, rtol=1e-12)
    np.testing.assert_allclose(layers.avg_pool_space(to_first(x), 2, channels_first=True),
                               to_first(want), rtol=1e-12)


def test_temporal_conv_is_a_k11_conv3d(rng):
  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(2, 7, 4, 4, 3)))
    for k in (1, 3, 4, 5):
      w = jnp.asarray(rng.normal(size=(k, 3, 5)))
      got = layers.temporal_conv(x, w)
      want = conv3d(x, w[:, None, None])
      np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_factorised_block_equals_explicit_composition(rng):
  with jax.enable_x64(True):
    block = layers.FactorisedBlock(mid=6, out=5, k_space=3, k_time=5, stride=2)
    x = jnp.asarray(rng.normal(size=(2, 8, 10, 10, 3)))
    params = block.init(jax.random.key(0), x)['params']
    params = jax.tree.map(lambda p: p + 0.1 * rng.normal(size=p.shape), params)  # biases too
    got = block.apply({'params': params}, x)
    p = params
    y = jax.nn.relu(conv3d(x, p['spatial'][None], (1, 2, 2)) + p['spatial_bias'])
    y = jax.nn.relu(conv3d(y, p['temporal'][:, None, None]) + p['temporal_bias'])
    y = jax.nn.relu(conv3d(y, p['project'][None, None, None]) + p['project_bias'])
    assert got.shape == (2, 8, 5, 5, 5)
    np.testing.assert_allclose(got, y, rtol=1e-10, atol=1e-10)


def test_block_context_equals_concatenated_input(rng):
  """A per-clip context equals the same channels repeated over time and concatenated."""
  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(2, 6, 8, 8, 3)))
    ctx = jnp.asarray(rng.normal(size=(2, 8, 8, 2)))
    block = layers.FactorisedBlock(mid=4, out=4, stride=2)
    p = block.init(jax.random.key(0), x, ctx)['params']
    got = block.apply({'params': p}, x, ctx)
    concat = jnp.concatenate([x, jnp.broadcast_to(ctx[:, None], (2, 6, 8, 8, 2))], -1)
    merged = dict(p, spatial=jnp.concatenate([p['spatial'], p['spatial_context']], 2))
    del merged['spatial_context']
    want = block.apply({'params': merged}, concat)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_block_parameter_count():
  block = layers.FactorisedBlock(mid=8, out=16, k_space=3, k_time=5)
  params = block.init(jax.random.key(0), jnp.zeros((1, 4, 8, 8, 6)))['params']
  n = sum(x.size for x in jax.tree.leaves(params))
  assert n == 3 * 3 * 6 * 8 + 8 + 5 * 8 * 8 + 8 + 8 * 16 + 16
