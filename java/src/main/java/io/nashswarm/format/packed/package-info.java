/**
 * The engine's own packed model file ({@code .nsq} by convention; recognised by its magic, not its name):
 * every matrix exactly as the engine computes on it — packed int8/int4/int2/NF4/mixed codes with their
 * scales, zeros, maps and outliers, or F32/F16/BF16/Q8_0/Q4_0 — memory-mapped on load and never expanded.
 *
 * <h2>Layout (format version 1, all integers little-endian)</h2>
 * <pre>
 * offset  size  field
 * 0       4     magic "NSWQ" (bytes 4E 53 57 51)
 * 4       4     uint32 format version = 1
 * 8       8     uint64 header length H (bytes of UTF-8 JSON; 1 ≤ H ≤ 256 MiB and 16 + H ≤ file size)
 * 16      H     header: one UTF-8 JSON object (below)
 * …             zero padding up to D = align64(16 + H), the start of the data region
 * D + o   n     each section's bytes at its offset o (a multiple of 64, relative to D), zero padding between
 * </pre>
 *
 * <h2>Header</h2>
 * <pre>{@code
 * {"format": "nashswarm-packed", "alignment": 64,
 *  "config": {every ModelConfig component: "architecture": "llama", "dim": 64, …, "normEps": 1.0E-5,
 *             "ropeStyle": "interleaved" | "rotate_half" | null, "tiedEmbeddings": true,
 *             "ropeFreqFactors": [head size / 2 divisors] | null (Llama 3.1 RoPE scaling; absent in older files)},
 *  "provenance": {"recipe", "recipeParams": {…}, "sourcePath", "sourceSha256", "calibration", "createdBy"},
 *  "tokenizer": {GGUF tokenizer keys: "tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": […], …},
 *  "tensors": [
 *    {"name": "blk.0.attn_q.weight", "type": "int4", "shape": [rows, cols],
 *     "stored_cols": 192,                                      packed rows padded to a multiple of 32 only
 *     "group": {"size": 32, "flags": 1},                       packed types only; flags = GroupSpec.flags()
 *     "mix": {"groups2": …, "groups4": …, "groups8": …, "outliers": …},   mixed only
 *     "layout": "in_out",                                      F32/F16/BF16 stored [in][out] only
 *     "sections": [{"name": "codes", "offset": 0, "bytes": 2048, "crc32c": "1a2b3c4d"}, …]},
 *    {"name": "blk.0.attn_norm.weight", "type": "f32", "shape": [64], "sections": [{"name": "data", …}]},
 *    …]}
 * }</pre>
 * <ul>
 *   <li>Tensors use the canonical names of {@link io.nashswarm.model.ModelWeights}, in
 *       {@link io.nashswarm.format.CanonicalTensors} order; the set must be exactly what the config implies.</li>
 *   <li>A packed type has exactly the sections {@link io.nashswarm.tensor.QuantType#sections} lists for its
 *       shape, group spec and (mixed) counts, with those sizes (see {@link io.nashswarm.tensor.PackedMatrix});
 *       F32/F16/BF16/Q8_0/Q4_0 have one section "data"; vectors (norms, biases) are F32 "data".</li>
 *   <li>A packed matrix whose rows are not a multiple of 32 (rows of 172 in the tiny llama2.c models) is stored
 *       with each row padded by zero weights to the next multiple of 32, given as {@code stored_cols}; its sections
 *       are those of a {@code rows × stored_cols} matrix ({@link io.nashswarm.tensor.PaddedMatrix}).</li>
 *   <li>A tied LM head is stored once: {@code config.tiedEmbeddings} is true and there is no
 *       {@code output.weight}; the loader uses {@code token_embd.weight} for both.</li>
 *   <li>Each section carries the CRC32C (Castagnoli) of its bytes as 8 lower-case hex digits, checked on load.
 *       Fixed-width checksums let the writer stream the data first and fill the header in afterwards.</li>
 *   <li>The tokenizer is stored as GGUF's {@code tokenizer.ggml.*} keys
 *       ({@link io.nashswarm.tokenizer.GgufTokenizerMetadata}); floats are JSON numbers read back exactly.</li>
 * </ul>
 * The file size is the 16-byte preamble + H + the sections + alignment padding (under 64 bytes before the
 * data region and before each section): nothing else is stored.
 */
package io.nashswarm.format.packed;
