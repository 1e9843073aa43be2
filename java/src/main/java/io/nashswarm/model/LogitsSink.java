package io.nashswarm.model;

/** Receives the logits of one position of a batch (the array is reused; copy what you keep). */
@FunctionalInterface
public interface LogitsSink {
    void accept(int index, float[] logits, int offset);
}
