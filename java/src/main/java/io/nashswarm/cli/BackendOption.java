package io.nashswarm.cli;

import io.nashswarm.cuda.Backends;
import io.nashswarm.model.Backend;
import picocli.CommandLine.Option;

/** {@code --backend} (picocli mixin) for the commands that run a forward pass. */
public final class BackendOption {
    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "auto|cpu|cuda",
            description = "Where the forward pass runs: cpu (default), cuda (native/target/libnashswarm_cuda.so on GPU 0; "
                    + "one clear error when the library, driver or device is missing), or auto (cuda when it loads and a device is present, else cpu). "
                    + "Also cuda-q8: single-vector products on int8 activations with dp4a, as llama.cpp's CUDA backend does (1.18x the decode "
                    + "speed at Llama-3.2-1B int4 shapes on an H200; logits within a few per cent of the float path's); and cuda-unfused (every small operation its own kernel, for comparisons).")
    String backend;

    @Option(names = "--kv-cache", defaultValue = "f32", paramLabel = "f32|f16",
            description = "How the CPU keeps keys and values: f32 (default, exact), or f16 as llama.cpp does by default: half the "
                    + "cache's memory and of the bytes long contexts read per token (keys or values past f16's range of 65504 stop the run with a message).")
    String kvCache;

    Backend open() {
        return Backends.select(backend, kvCache);
    }
}
