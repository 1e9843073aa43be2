package io.nashswarm.tensor;

/** How a dense matrix's elements lie in storage. */
public enum Layout {
    /** {@code [out][in]}: a row per output feature (PyTorch {@code nn.Linear}, llama2.c, GGUF). */
    OUT_IN,
    /** {@code [in][out]}: a row per input feature (GPT-2's {@code Conv1D} in Hugging Face checkpoints). */
    IN_OUT
}
