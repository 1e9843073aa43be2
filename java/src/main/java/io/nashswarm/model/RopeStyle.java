package io.nashswarm.model;

/**
 * Which pairs of a head's dimensions RoPE rotates together. The choice is tied to how the q/k
 * weights were stored, so it comes from the checkpoint format, not from the user.
 */
public enum RopeStyle {
    /** Pairs (2i, 2i+1): Meta's original code, llama2.c, and GGUF (llama.cpp permutes HF weights on conversion). */
    INTERLEAVED,
    /** Pairs (i, i + headSize/2): Hugging Face {@code LlamaForCausalLM} ("rotate_half"). */
    ROTATE_HALF
}
