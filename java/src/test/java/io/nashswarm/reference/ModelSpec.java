package io.nashswarm.reference;

import io.nashswarm.format.safetensors.SafetensorsDtype;

import java.nio.file.Path;
import java.util.Map;

/**
 * A small model shaped like a real one: its Hugging Face config.json, random weights under the real
 * tensor names and layouts, the same weights as llama.cpp's converter would write them to GGUF,
 * and the float64 reference that computes its logits.
 */
sealed interface ModelSpec permits Gpt2Spec, LlamaSpec {
    String name();

    SafetensorsDtype dtype();

    int vocab();

    int contextLength();

    /** config.json as transformers writes it, with the real keys. */
    String configJson();

    /** Random weights, seeded by the spec: HF names, HF layouts, stored as {@link #dtype()}. */
    Map<String, HfTensor> randomTensors();

    /** The same weights converted as convert_hf_to_gguf.py does (names, metadata, layouts). */
    void writeGguf(Map<String, HfTensor> tensors, Path file);

    /** The float64 reference's logits at every position: {@code [tokens.length][vocab]}. */
    double[][] referenceLogits(Map<String, HfTensor> tensors, int[] tokens);
}
