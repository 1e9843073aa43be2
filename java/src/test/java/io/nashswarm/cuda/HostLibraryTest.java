package io.nashswarm.cuda;

import io.nashswarm.EngineException;
import io.nashswarm.model.Backend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The host build of nashswarm.h (the decode header compiled by g++), through the FFM binding, against the
 * Java kernels: the ABI, the packed layouts and the arithmetic, without a GPU. Skips when scripts/build-native
 * has not been run.
 */
class HostLibraryTest extends BackendConformance {
    static NashswarmH library() {
        try {
            return NativeLibrary.load(NativeLibrary.Kind.HOST);
        } catch (EngineException e) {
            System.out.println("skipped HostLibraryTest: " + e.getMessage());
            Assumptions.abort("skipped: " + e.getMessage());
            throw e;
        }
    }

    @Override
    Backend open(CudaBackend.Options options) {
        return new CudaBackend(new NativeContext(library(), 0), options);
    }

    @Test
    void badInputIsOneClearError() {
        NativeContext ctx = ((CudaBackend) backend).context();
        EngineException e = assertThrows(EngineException.class, () -> new NativeContext(ctx.library(), 3));
        assertTrue(e.getMessage().contains("no device") && e.getMessage().contains("asked for 3"), e.getMessage());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(NashswarmH.TENSOR_DESC);
            d.set(ValueLayout.JAVA_INT, 0, NashswarmH.NS_INT4);
            d.set(ValueLayout.JAVA_INT, 4, 4);
            d.set(ValueLayout.JAVA_INT, 8, 64);
            d.set(ValueLayout.JAVA_INT, 12, 64);
            d.set(ValueLayout.ADDRESS, 24, a.allocate(100));
            d.set(ValueLayout.JAVA_LONG, 32, 100);
            d.set(ValueLayout.ADDRESS, 40, a.allocate(8));
            d.set(ValueLayout.JAVA_LONG, 48, 8);
            int st = ctx.library().ns_upload(ctx.handle(), d, a.allocate(ValueLayout.ADDRESS));
            assertEquals(NashswarmH.NS_E_ARGUMENT, st);
            String msg = ctx.library().ns_last_error().reinterpret(512).getString(0);
            assertEquals("int4 4x64: section 'codes' has 100 bytes, expected 128", msg);
        }
        // The CUDA library either opens a device or says in one line why not (no library, driver or device).
        try (CudaBackend cuda = CudaBackend.open()) {
            assertEquals("cuda", cuda.name());
        } catch (EngineException why) {
            assertTrue(why.getMessage().contains("libnashswarm_cuda.so"), why.getMessage());
        }
    }
}
