package io.nashswarm.model;

/** The model families the engine runs. */
public enum Architecture {
    /** GPT-2: learned positions, LayerNorm, tanh-GELU MLP, fused QKV with biases. */
    GPT2,
    /** LLaMA: RMSNorm, RoPE, SwiGLU, grouped-query attention, no biases. */
    LLAMA
}
