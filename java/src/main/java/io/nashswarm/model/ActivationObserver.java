package io.nashswarm.model;

import io.nashswarm.tensor.WeightMatrix;

/**
 * Sees the input vectors of every matrix product of a forward pass, e.g. to collect the mean
 * squared activation per input channel for calibration-aware quantization (llama.cpp's imatrix,
 * AWQ). Called on the forward pass's thread, before the product.
 */
@FunctionalInterface
public interface ActivationObserver {
    /** {@code x} holds {@code n} row-major input vectors of length {@code w.cols()}. */
    void observe(WeightMatrix w, float[] x, int n);
}
