package io.nashswarm.cli;

import io.nashswarm.cuda.Backends;
import io.nashswarm.model.Backend;
import picocli.CommandLine.Option;

/** {@code --backend} (picocli mixin) for the commands that run a forward pass. */
public final class BackendOption {
    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "auto|cpu|cuda",
            description = "Where the forward pass runs: cpu (default), cuda (native/target/libnashswarm_cuda.so on GPU 0; "
                    + "one clear error when the library, driver or device is missing), or auto (cuda when it loads and a device is present, else cpu). "
                    + "For comparisons: cuda-q8 (single-vector products on int8 activations with dp4a) and cuda-unfused (every small operation its own kernel).")
    String backend;

    Backend open() {
        return Backends.select(backend);
    }
}
