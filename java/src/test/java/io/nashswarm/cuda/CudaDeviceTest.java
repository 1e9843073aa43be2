package io.nashswarm.cuda;

import io.nashswarm.EngineException;
import io.nashswarm.model.Backend;
import org.junit.jupiter.api.Assumptions;

/** The conformance checks on the GPU (libnashswarm_cuda.so on device 0); skips with the reason when there is none. */
class CudaDeviceTest extends BackendConformance {
    @Override
    Backend open(CudaBackend.Options options) {
        try {
            CudaBackend b = CudaBackend.open(options);
            System.out.println("CudaDeviceTest on " + b.context().deviceName());
            return b;
        } catch (EngineException e) {
            System.out.println("skipped CudaDeviceTest: no CUDA device: " + e.getMessage());
            Assumptions.abort("skipped: no CUDA device: " + e.getMessage());
            throw e;
        }
    }
}
