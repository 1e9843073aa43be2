package io.nashswarm.cuda;

import io.nashswarm.EngineException;
import io.nashswarm.model.Backend;
import io.nashswarm.model.CpuBackend;

/**
 * {@code --backend auto|cpu|cuda}, and two variants of cuda for comparisons: {@code cuda-q8} (single-vector products
 * on int8 activations with dp4a) and {@code cuda-unfused} (every small operation its own kernel).
 */
public final class Backends {
    private Backends() {}

    /**
     * The backend named: {@code cuda} or an EngineException saying what is missing; {@code auto} is CUDA
     * when its library loads and a device is present, else the CPU (saying why on stderr).
     */
    public static Backend select(String choice) {
        return switch (choice.toLowerCase()) {
            case "cpu" -> CpuBackend.INSTANCE;
            case "cuda" -> CudaBackend.open();
            case "cuda-q8" -> CudaBackend.open(new CudaBackend.Options(true, true));
            case "cuda-unfused" -> CudaBackend.open(new CudaBackend.Options(false, false));
            case "auto" -> {
                try {
                    yield CudaBackend.open();
                } catch (EngineException e) {
                    System.err.println("backend: cpu (cuda unavailable: " + e.getMessage() + ")");
                    yield CpuBackend.INSTANCE;
                }
            }
            default -> throw new EngineException("unknown backend '" + choice + "'; choose auto, cpu or cuda (or cuda-q8, cuda-unfused)");
        };
    }
}
