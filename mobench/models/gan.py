"""DCGAN on 28x28 images: the `mnist-gan` suite family, scored by `mobench.models.quality`.

The GAN trains through Keras' own `train_step(data)` (one discriminator update, then one
generator update, non-saturating BCE), so `model.fit` and the profiler's
`model.train_function([(x, y)])` work the same in eager, graph and XLA modes; `y` is ignored.
"""

from __future__ import annotations

from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from mobench.models.common import (
    BATCH_SIZES,
    SuiteHyperModel,
    declare_precision,
    dtype_policy,
)

LEAK = 0.2


def _softplus_mean(x):
    """mean(log(1 + exp(x))) in float32: BCE on logits (label 0 at x, label 1 at -x)."""
    return keras.ops.mean(keras.ops.softplus(keras.ops.cast(x, "float32")))


class DCGAN(keras.Model):
    """Generator (latent -> image in [0, 1]) and discriminator (image -> real/fake logit).

    `call(inputs)` generates one image per input row (only the batch size of `inputs` is read),
    so `predict` and the profiler's inference timing measure generation, a GAN's inference.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True  # both parts are built from keras.Input: no symbolic build needed

    def compile(self, d_optimizer: keras.optimizers.Optimizer,
                g_optimizer: keras.optimizers.Optimizer, **kwargs: Any) -> None:
        """Two optimizers, built now so no variable is created inside a traced step."""
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self) -> list:
        return [self.d_loss_tracker, self.g_loss_tracker]

    def _noise(self, batch):
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    def call(self, inputs, training: bool = False):
        return self.generator(self._noise(keras.ops.shape(inputs)[0]), training=training)

    def train_flops_per_sample(self, forward_of) -> int:
        """FLOPs of `train_step` per real image, with backward = 2 x forward: the D step runs G
        once and D forward and backward on a real and a fake image (G + 6 D), the G step runs G
        and D forward and backward (3 G + 3 D)."""
        g, d = forward_of(self.generator), forward_of(self.discriminator)
        return 4 * g + 9 * d

    def train_step(self, data):
        import tensorflow as tf

        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = keras.ops.cast(real, "float32")
        batch = keras.ops.shape(real)[0]
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables

        z = self._noise(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            logits = self.discriminator(keras.ops.concatenate([real, fake]), training=True)
            d_loss = _softplus_mean(-logits[:batch]) + _softplus_mean(logits[batch:])
            scaled = self.d_optimizer.scale_loss(d_loss)
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars, strict=True))

        z = self._noise(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            g_loss = _softplus_mean(-self.discriminator(fake, training=True))
            scaled = self.g_optimizer.scale_loss(g_loss)
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars, strict=True))

        return self._track(d_loss, g_loss)

    def test_step(self, data):
        """Both losses on held-out images, no update (`val_d_loss`, `val_g_loss` in `fit`)."""
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = keras.ops.cast(real, "float32")
        batch = keras.ops.shape(real)[0]
        fake = self.generator(self._noise(batch), training=False)
        logits = self.discriminator(keras.ops.concatenate([real, fake]), training=False)
        d_loss = _softplus_mean(-logits[:batch]) + _softplus_mean(logits[batch:])
        return self._track(d_loss, _softplus_mean(-logits[batch:]))

    def _track(self, d_loss, g_loss) -> dict:
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def sample(self, n: int, seed: int = 0, batch_size: int = 256) -> np.ndarray:
        """`n` images, float32 in [0, 1], the dataset's shape; deterministic for a `seed`."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        parts = [self.generator(z[i:i + batch_size], training=False).numpy()
                 for i in range(0, n, batch_size)]
        return np.clip(np.concatenate(parts).astype(np.float32), 0.0, 1.0)


def _image_dims(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(input_shape) not in (2, 3) or any(int(d) <= 0 for d in input_shape):
        raise ValueError(f"GAN needs (h, w) or (h, w, c) images, got {input_shape}")
    h, w = int(input_shape[0]), int(input_shape[1])
    if h % 4 or w % 4:
        raise ValueError(f"GAN needs image sides divisible by 4 (two 2x upsamplings), got {h}x{w}")
    return h, w, int(input_shape[2]) if len(input_shape) == 3 else 1


class GAN(SuiteHyperModel):
    """DCGAN. G: Dense -> BN -> 7x7 map -> Conv2DTranspose x2 (BN between) -> sigmoid image.

    D: two stride-2 Conv2D blocks (LeakyReLU) -> Dense(1) logit. `*_width` are base channels.

    Mixed precision puts every hidden layer under `keras.DTypePolicy(precision)`; the last layer
    of each network, the losses and the generated images stay float32. mixed_float16 wraps both
    optimizers in a LossScaleOptimizer.
    """

    def __init__(self, input_shape: tuple[int, ...] = (28, 28), num_classes: int = 10,
                 **kwargs: Any) -> None:
        super().__init__(input_shape, num_classes, **kwargs)  # num_classes: unused, unconditional
        _image_dims(self.input_shape)

    def build(self, hp: kt.HyperParameters) -> DCGAN:
        latent_dim = hp.Int("latent_dim", 16, 128, step=16)
        gen_width = hp.Int("gen_width", 16, 128, step=16)
        disc_width = hp.Int("disc_width", 16, 128, step=16)
        g_lr = hp.Float("g_learning_rate", 1e-5, 1e-3, sampling="log")
        d_lr = hp.Float("d_learning_rate", 1e-5, 1e-3, sampling="log")
        beta_1 = hp.Float("beta_1", 0.0, 0.9, step=0.1)
        hp.Choice("batch_size", BATCH_SIZES)
        precision = declare_precision(hp)

        policy = dtype_policy(precision)
        model = DCGAN(self._generator(latent_dim, gen_width, policy),
                      self._discriminator(disc_width, policy), latent_dim, name="dcgan")

        def adam(lr: float) -> keras.optimizers.Optimizer:
            opt = keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1)
            return keras.optimizers.LossScaleOptimizer(opt) if precision == "mixed_float16" else opt

        model.compile(d_optimizer=adam(d_lr), g_optimizer=adam(g_lr))
        return model

    def _generator(self, latent_dim: int, width: int, policy) -> keras.Model:
        L = keras.layers
        h, w, c = _image_dims(self.input_shape)
        return keras.Sequential([
            keras.Input(shape=(latent_dim,)),
            L.Dense(h // 4 * w // 4 * 2 * width, use_bias=False, dtype=policy),
            L.BatchNormalization(dtype=policy),
            L.LeakyReLU(LEAK, dtype=policy),
            L.Reshape((h // 4, w // 4, 2 * width), dtype=policy),
            L.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False, dtype=policy),
            L.BatchNormalization(dtype=policy),
            L.LeakyReLU(LEAK, dtype=policy),
            L.Conv2DTranspose(c, 4, strides=2, padding="same", activation="sigmoid",
                              dtype="float32"),
            L.Reshape(self.input_shape, dtype="float32"),
        ], name="generator")

    def _discriminator(self, width: int, policy) -> keras.Model:
        L = keras.layers
        h, w, c = _image_dims(self.input_shape)
        # Conv2D without bias: with Conv2D + BiasAdd + LeakyReLU, TF 2.21's grappler remapper
        # logs "remapper failed ... LeakyReluGrad" on every graph-mode trace (results unchanged).
        return keras.Sequential([
            keras.Input(shape=self.input_shape),
            L.Reshape((h, w, c)),
            L.Conv2D(width, 4, strides=2, padding="same", use_bias=False, dtype=policy),
            L.LeakyReLU(LEAK, dtype=policy),
            L.Conv2D(2 * width, 4, strides=2, padding="same", use_bias=False, dtype=policy),
            L.LeakyReLU(LEAK, dtype=policy),
            L.Flatten(dtype=policy),
            L.Dense(1, dtype="float32"),
        ], name="discriminator")

    def generate(self, model: DCGAN, n: int, seed: int = 0) -> np.ndarray:
        """`n` samples of a built GAN, float32 (n, *input_shape) in [0, 1]."""
        return model.sample(n, seed)

    def quality_metrics(self, model: DCGAN, dataset, seed: int = 0,
                        **kwargs: Any) -> dict[str, Any]:
        """`fcd` and `classifier_score` of the model's samples, with what they were measured
        against (`n`, `seed`, `classifier_id`, `dataset`): see
        `mobench.models.quality.quality_metrics`."""
        from mobench.models.quality import quality_metrics

        return quality_metrics(model, dataset, seed=seed, **kwargs)
