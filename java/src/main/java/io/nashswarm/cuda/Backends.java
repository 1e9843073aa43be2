package io.nashswarm.cuda;

import io.nashswarm.EngineException;
import io.nashswarm.model.Backend;
import io.nashswarm.model.CpuBackend;

/** {@code --backend auto|cpu|cuda}. */
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
            case "auto" -> {
                try {
                    yield CudaBackend.open();
                } catch (EngineException e) {
                    System.err.println("backend: cpu (cuda unavailable: " + e.getMessage() + ")");
                    yield CpuBackend.INSTANCE;
                }
            }
            default -> throw new EngineException("unknown backend '" + choice + "'; choose auto, cpu or cuda");
        };
    }
}
