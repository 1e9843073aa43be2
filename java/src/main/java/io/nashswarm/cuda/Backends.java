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
     * when its library loads and a device is present, else the CPU (saying why on stderr). The KV cache is kept as
     * {@code kvCache}: f32, or f16 (the CPU backend only; the CUDA backend keeps f32 keys and values, so asking it for f16
     * is an error, and auto with f16 chooses the CPU).
     */
    public static Backend select(String choice, String kvCache) {
        boolean half = switch (kvCache.toLowerCase()) {
            case "f32" -> false;
            case "f16" -> true;
            default -> throw new EngineException("unknown --kv-cache '" + kvCache + "'; choose f32 or f16");
        };
        if (half) {
            return switch (choice.toLowerCase()) {
                case "cpu", "auto" -> CpuBackend.HALF_KV;
                default -> throw new EngineException("--kv-cache f16 runs on the CPU backend only (the CUDA backend keeps an f32 KV cache); "
                        + "use --backend cpu or --kv-cache f32");
            };
        }
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
