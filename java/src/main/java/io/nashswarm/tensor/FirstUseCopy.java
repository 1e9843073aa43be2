package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

/**
 * A repacked copy of a matrix's stored weights for its kernels (bit planes, byte rows), made at the first product, once,
 * whichever thread asks first, and not at load, so that a matrix only read by rows (an embedding) or only inspected never
 * pays for it. Once made it stands in for the stored bytes: their pages, when mapped, are released (they page in again
 * if read). A maker that returns null means the matrix has no such copy; it is not asked again.
 */
final class FirstUseCopy<T> {
    private final Supplier<T> make;
    private final MemorySegment[] stored;
    private volatile T copy;
    private volatile boolean none;

    /** {@code stored}: the segments the copy stands in for (codes, and scales or zeros kept apart from them; nulls skipped). */
    FirstUseCopy(Supplier<T> make, MemorySegment... stored) {
        this.make = make;
        this.stored = stored;
    }

    /** The copy if it has been made, else null; never makes it. */
    T made() {
        return copy;
    }

    /** The copy, or null when the matrix has none. */
    T get() {
        T c = copy;
        if (c != null || none) {
            return c;
        }
        synchronized (this) {
            if (copy == null && !none) {
                T made = make.get();
                if (made == null) {
                    none = true;
                } else {
                    copy = made;
                    for (MemorySegment m : stored) {
                        if (m != null && m.isMapped()) {
                            m.unload();
                        }
                    }
                }
            }
            return copy;
        }
    }
}
