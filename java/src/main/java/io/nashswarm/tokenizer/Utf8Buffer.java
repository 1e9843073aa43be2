package io.nashswarm.tokenizer;

import java.util.Arrays;

/**
 * Bytes on their way to becoming text. Complete characters are released as soon as they are
 * whole; an unfinished trailing character is held back until more bytes come or the buffer is
 * drained at an end. Ill-formed bytes become U+FFFD, either one per maximal subpart (Unicode's
 * recommendation, which Hugging Face's byte-level decoder and Python follow) or one per byte
 * (SentencePiece).
 */
final class Utf8Buffer {
    enum Replacement { PER_SUBPART, PER_BYTE }

    private final Replacement replacement;
    private byte[] buf = new byte[16];
    private int len;

    Utf8Buffer(Replacement replacement) {
        this.replacement = replacement;
    }

    void add(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
    }

    void add(int b) {
        ensure(1);
        buf[len++] = (byte) b;
    }

    boolean isEmpty() {
        return len == 0;
    }

    /**
     * Appends the text of the complete characters to {@code out}. With {@code end}, whatever is
     * left (an unfinished character) is replaced too and the buffer is emptied.
     */
    void drain(StringBuilder out, boolean end) {
        int off = 0;
        while (off < len) {
            int r = Utf8.scan(buf, off, len);
            if (r > 0) {
                Utf8.appendChar(out, buf, off, r);
                off += r;
            } else if (r == 0) {
                if (!end) {
                    break;
                }
                int n = replacement == Replacement.PER_BYTE ? len - off : 1;
                for (int i = 0; i < n; i++) {
                    out.append(Utf8.REPLACEMENT);
                }
                off = len;
            } else {
                out.append(Utf8.REPLACEMENT);
                off += replacement == Replacement.PER_BYTE ? 1 : -r;
            }
        }
        System.arraycopy(buf, off, buf, 0, len - off);
        len -= off;
    }

    private void ensure(int extra) {
        if (len + extra > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra));
        }
    }
}
