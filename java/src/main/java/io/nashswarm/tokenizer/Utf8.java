package io.nashswarm.tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** UTF-8 helpers shared by the tokenizers: well-formedness as in Unicode table 3-7, strict decoding. */
final class Utf8 {
    private Utf8() {}

    static final char REPLACEMENT = '\uFFFD';

    /**
     * Looks at the bytes {@code b[off..end)}: returns the length (1-4) of the well-formed character
     * starting at {@code off}; 0 if those bytes are a well-formed but unfinished prefix of one; or
     * {@code -k} when the first {@code k} bytes are an ill-formed "maximal subpart" (Unicode's
     * recommended unit for one U+FFFD).
     */
    static int scan(byte[] b, int off, int end) {
        int b0 = b[off] & 0xff;
        if (b0 < 0x80) {
            return 1;
        }
        int length;
        int lo = 0x80, hi = 0xbf; // allowed range of the second byte
        if (b0 >= 0xc2 && b0 <= 0xdf) {
            length = 2;
        } else if (b0 >= 0xe0 && b0 <= 0xef) {
            length = 3;
            if (b0 == 0xe0) lo = 0xa0;
            if (b0 == 0xed) hi = 0x9f;
        } else if (b0 >= 0xf0 && b0 <= 0xf4) {
            length = 4;
            if (b0 == 0xf0) lo = 0x90;
            if (b0 == 0xf4) hi = 0x8f;
        } else {
            return -1;
        }
        for (int i = 1; i < length; i++) {
            if (off + i >= end) {
                return 0;
            }
            int bi = b[off + i] & 0xff;
            if (bi < (i == 1 ? lo : 0x80) || bi > (i == 1 ? hi : 0xbf)) {
                return -i;
            }
        }
        return length;
    }

    /** Decodes a well-formed sequence of {@code length} bytes at {@code off} into {@code out}. */
    static void appendChar(StringBuilder out, byte[] b, int off, int length) {
        int cp = switch (length) {
            case 1 -> b[off];
            case 2 -> (b[off] & 0x1f) << 6 | (b[off + 1] & 0x3f);
            case 3 -> (b[off] & 0x0f) << 12 | (b[off + 1] & 0x3f) << 6 | (b[off + 2] & 0x3f);
            default -> (b[off] & 0x07) << 18 | (b[off + 1] & 0x3f) << 12 | (b[off + 2] & 0x3f) << 6 | (b[off + 3] & 0x3f);
        };
        out.appendCodePoint(cp);
    }

    /** The text of well-formed UTF-8, or empty when the bytes are not well-formed. */
    static Optional<String> decodeStrict(byte[] bytes) {
        return decodeStrict(bytes, 0, bytes.length);
    }

    static Optional<String> decodeStrict(byte[] bytes, int off, int len) {
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, off, len)).toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }

    /** Offset of the first byte that is not part of well-formed UTF-8, or -1 if all of it is. */
    static long firstMalformed(byte[] b) {
        int off = 0;
        while (off < b.length) {
            int r = scan(b, off, b.length);
            if (r <= 0) {
                return off;
            }
            off += r;
        }
        return -1;
    }
}
