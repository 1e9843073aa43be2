package io.nashswarm.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Off-heap memory for the kernels' repacked weight copies, on transparent huge pages where Linux gives them only on
 * request ({@code /sys/kernel/mm/transparent_hugepage/enabled} = madvise, as on this project's machines): a segment of
 * 2 MiB or more is an anonymous mapping whose 2 MiB-aligned part is marked {@code madvise(MADV_HUGEPAGE)} before
 * anything touches it, so its pages fault in as 2 MiB pages (an {@link Arena} segment is zeroed as it is allocated,
 * on 4 KiB pages, before any advice could apply). The mapping is already zero, and it is unmapped when the segment
 * becomes unreachable.
 *
 * <p>Why: the copies are streamed once per token from DRAM, and on 4 KiB pages a thread's stream stalls more often
 * (TLB misses; prefetchers that stop at every page): at llama-1b, 2 threads, int4 decoded 16% faster and Q4_K_M 4–17%
 * (bench/results/byte-rows-2026-12-03.md). Elsewhere (not Linux, no native access, a refused mapping) the memory comes
 * from an {@link Arena}, on ordinary pages.
 */
public final class HugePages {
    private static final long HUGE = 1L << 21;
    private static final int PROT_READ_WRITE = 0x3, MAP_PRIVATE_ANONYMOUS = 0x22, MADV_HUGEPAGE = 14;
    private static final MethodHandle MMAP, MUNMAP, MADVISE;

    static {
        MethodHandle mmap = null, munmap = null, madvise = null;
        if (System.getProperty("os.name", "").startsWith("Linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                mmap = libc.find("mmap").map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG))).orElse(null);
                munmap = libc.find("munmap").map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG))).orElse(null);
                madvise = libc.find("madvise").map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT))).orElse(null);
            } catch (RuntimeException | LinkageError e) { // native access refused or unavailable: ordinary pages
                mmap = null;
            }
        }
        boolean all = mmap != null && munmap != null && madvise != null;
        MMAP = all ? mmap : null;
        MUNMAP = all ? munmap : null;
        MADVISE = all ? madvise : null;
    }

    private HugePages() {}

    /** A zeroed segment of {@code bytes} bytes, at least 64-byte aligned, freed when unreachable. */
    public static MemorySegment allocate(long bytes) {
        return allocate(bytes, Arena.ofAuto());
    }

    /** A zeroed segment of {@code bytes} bytes, at least 64-byte aligned, freed when {@code arena} closes. */
    public static MemorySegment allocate(long bytes, Arena arena) {
        MemorySegment m = bytes >= HUGE && MMAP != null ? map(bytes, arena) : null;
        return m != null ? m : arena.allocate(Math.max(1, bytes), 64);
    }

    /** An anonymous mapping of {@code bytes} (plus up to 2 MiB to align it), its aligned part advised huge; null if refused. */
    private static MemorySegment map(long bytes, Arena arena) {
        long len = bytes + HUGE;
        try {
            MemorySegment raw = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, len, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
            long base = raw.address();
            if (base == -1L) {
                return null;
            }
            long start = (base + HUGE - 1) & -HUGE;
            MemorySegment aligned = MemorySegment.ofAddress(start).reinterpret(bytes);
            int ignored = (int) MADVISE.invokeExact(aligned, bytes & -HUGE, MADV_HUGEPAGE); // a refusal leaves ordinary pages
            return aligned.reinterpret(bytes, arena, s -> unmap(base, len));
        } catch (Throwable t) {
            throw new IllegalStateException("mmap of " + bytes + " bytes", t);
        }
    }

    private static void unmap(long base, long len) {
        try {
            int ignored = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(base), len);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap", t);
        }
    }
}
