package io.nashswarm.format.packed;

import java.util.Map;

/**
 * Where a quantized model came from, recorded in the packed file's header so a file explains itself.
 *
 * @param recipe       short name of the method, e.g. "int4-g64", "nash-swarm-10/20/70", "target-3.0bpw"
 * @param recipeParams every parameter of the method (group size, split, bpw target, outlier fraction, …)
 * @param sourcePath   the checkpoint it was quantized from, as given by the user
 * @param sourceSha256 SHA-256 of the source checkpoint's weight file(s) (hex; for several files, of their hashes in order)
 * @param calibration  how importance was calibrated (file, line range, tokens), or null when not calibrated
 * @param createdBy    the engine version that wrote it
 */
public record Provenance(String recipe, Map<String, Object> recipeParams, String sourcePath, String sourceSha256,
                         String calibration, String createdBy) {}
