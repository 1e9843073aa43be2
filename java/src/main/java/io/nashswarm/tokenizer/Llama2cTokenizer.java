package io.nashswarm.tokenizer;

import io.nashswarm.EngineException;
import io.nashswarm.format.FormatException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * llama2.c's {@code tokenizer.bin} (int32 max_token_length, then per token: float32 score, int32
 * length, bytes), encoded and decoded exactly as llama2.c's {@code run.c} does:
 * <ul>
 *   <li>encode: a dummy " " token in front of non-empty text; each UTF-8 character is looked up as
 *       a piece, else its bytes become ids {@code byte + 3}; then repeatedly the adjacent pair
 *       whose concatenated text is a piece with the highest score is merged (leftmost on ties;
 *       scores must beat run.c's -1e10 floor). Every piece takes part, byte and control pieces too.
 *       (Merges are done with a heap over independent spans, not run.c's quadratic rescan; the
 *       result is the same.)</li>
 *   <li>decode: right after BOS (and at the start of {@link #decode}), a piece's leading space is
 *       dropped; {@code <0xXX>} pieces stand for raw bytes. BOS (1) and EOS (2) print nothing:
 *       run.c stops at BOS and the llama2.c export writes them as "\n&lt;s&gt;\n", which is not text.</li>
 * </ul>
 * With duplicate piece strings, lookups find the lowest id (run.c's bsearch leaves that open).
 */
final class Llama2cTokenizer implements Tokenizer {
    static final int BOS = 1, EOS = 2;
    /** run.c starts its search for the best pair at this score; pieces at or below it never merge. */
    private static final float SCORE_FLOOR = -1e10f;

    private final byte[][] pieceBytes;
    private final String[] pieces;
    private final float[] scores;
    private final int[] byteValue; // per id: the raw byte a <0xXX> piece stands for, or -1
    private final CodePointMap symbols = new CodePointMap();
    private final MergeTable rules;
    private final MergeSpans spans = new MergeSpans();
    private final WordCache cache = new WordCache();

    private Llama2cTokenizer(byte[][] pieceBytes, float[] scores) {
        this.pieceBytes = pieceBytes;
        this.scores = scores;
        int n = pieceBytes.length;
        this.pieces = new String[n];
        this.byteValue = new int[n];
        Map<String, Integer> index = new HashMap<>();
        for (int id = 0; id < n; id++) {
            pieces[id] = new String(pieceBytes[id], StandardCharsets.UTF_8);
            index.putIfAbsent(pieces[id], id);
            byteValue[id] = rawByte(pieces[id]);
        }
        for (int id = 0; id < n; id++) {
            int cp = CodePointMap.single(pieces[id]);
            if (cp >= 0 && index.get(pieces[id]) == id) {
                symbols.putIfAbsent(cp, id);
            }
        }
        rules = new MergeTable(n * 2);
        for (int id = 0; id < n; id++) {
            String p = pieces[id];
            if (index.get(p) != id || p.length() < 2 || !(scores[id] > SCORE_FLOOR)) {
                continue;
            }
            boolean any = false;
            for (int k = p.offsetByCodePoints(0, 1); k < p.length(); k = p.offsetByCodePoints(k, 1)) {
                Integer left = index.get(p.substring(0, k));
                Integer right = index.get(p.substring(k));
                if (left != null && right != null) {
                    rules.putIfAbsent(left, right, id, MergeTable.costOfScore(scores[id]));
                    any = true;
                }
            }
            if (any) {
                spans.addMergedText(p);
            }
        }
    }

    /** Reads a tokenizer.bin, or explains why the bytes are not one. */
    static Llama2cTokenizer read(Path path, byte[] data) {
        String problem = problem(data);
        if (problem != null) {
            throw new FormatException(path, "not a llama2.c tokenizer.bin: " + problem);
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        b.position(4);
        List<byte[]> pieces = new ArrayList<>();
        float[] scores = new float[1024];
        while (b.hasRemaining()) {
            if (pieces.size() == scores.length) {
                scores = Arrays.copyOf(scores, scores.length * 2);
            }
            scores[pieces.size()] = b.getFloat();
            byte[] piece = new byte[b.getInt()];
            b.get(piece);
            pieces.add(piece);
        }
        return new Llama2cTokenizer(pieces.toArray(byte[][]::new), Arrays.copyOf(scores, pieces.size()));
    }

    /** Null if the bytes are laid out as a tokenizer.bin consistently to the last byte, else what is wrong. */
    static String problem(byte[] data) {
        if (data.length < 4) {
            return "file is " + data.length + " bytes, too short for the max_token_length header";
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        int maxLen = b.getInt();
        if (maxLen <= 0 || maxLen > 1 << 16) {
            return "max_token_length " + maxLen + " is implausible";
        }
        int count = 0;
        while (b.hasRemaining()) {
            if (b.remaining() < 8) {
                return "token " + count + " is truncated: " + b.remaining() + " bytes left where a score and a length (8 bytes) should be";
            }
            b.getFloat();
            int len = b.getInt();
            if (len < 0 || len > maxLen) {
                return "token " + count + " has length " + len + " (max_token_length is " + maxLen + ")";
            }
            if (len > b.remaining()) {
                return "token " + count + " is truncated: its " + len + " bytes run past the end of the file";
            }
            b.position(b.position() + len);
            count++;
        }
        if (count < 3) {
            return "only " + count + " tokens (needs at least <unk>, <s>, </s>)";
        }
        return null;
    }

    /** run.c treats a piece that starts like "<0x41" as the raw byte 0x41. */
    private static int rawByte(String piece) {
        if (!piece.startsWith("<0x") || piece.length() < 4) {
            return -1;
        }
        int value = 0, digits = 0;
        for (int i = 3; i < piece.length() && digits < 2; i++, digits++) {
            int d = Character.digit(piece.charAt(i), 16);
            if (d < 0) {
                break;
            }
            value = value * 16 + d;
        }
        return digits == 0 ? -1 : value;
    }

    /** The score of every piece as the file stores it (merge priority: higher merges first). */
    float score(int id) {
        checkId(id);
        return scores[id];
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bos() {
        return BOS;
    }

    @Override
    public int eos() {
        return EOS;
    }

    @Override
    public boolean addBos() {
        return true;
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    @Override
    public int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        String s = " " + text; // run.c's dummy prefix token " "
        IntList out = new IntList(s.length() / 3 + 4);
        spans.split(s, symbols::contains, -1, (start, end) -> out.addAll(cache.get(s.substring(start, end), this::encodeSpan)));
        return out.toArray();
    }

    private int[] encodeSpan(String span) {
        int[] ids = new int[span.length() * 3];
        int n = 0;
        for (int i = 0; i < span.length(); ) {
            int cp = span.codePointAt(i);
            int id = symbols.get(cp);
            if (id >= 0) {
                ids[n++] = id;
            } else {
                for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                    int id3 = (b & 0xff) + 3; // run.c's byte fallback: the first 3 ids are <unk>, <s>, </s>
                    if (id3 >= pieces.length) {
                        throw new EngineException(String.format("cannot encode U+%04X: it is not in this %d-token "
                                + "vocabulary, which is too small to have byte pieces", cp, pieces.length));
                    }
                    ids[n++] = id3;
                }
            }
            i += Character.charCount(cp);
        }
        n = BpeMerger.merge(ids, n, rules, null, null);
        return Arrays.copyOf(ids, n);
    }

    @Override
    public StreamDecoder streamDecoder() {
        return new StreamDecoder() {
            private final Utf8Buffer bytes = new Utf8Buffer(Utf8Buffer.Replacement.PER_SUBPART);
            private int prev = BOS; // a fresh decoder is at the start of a sequence

            @Override
            public String push(int id) {
                checkId(id);
                if (id != BOS && id != EOS) {
                    byte[] p = pieceBytes[id];
                    if (byteValue[id] >= 0) {
                        bytes.add(byteValue[id]);
                    } else if (prev == BOS && p.length > 0 && p[0] == ' ') {
                        bytes.add(Arrays.copyOfRange(p, 1, p.length));
                    } else {
                        bytes.add(p);
                    }
                }
                prev = id;
                StringBuilder out = new StringBuilder();
                bytes.drain(out, false);
                return out.toString();
            }

            @Override
            public String flush() {
                StringBuilder out = new StringBuilder();
                bytes.drain(out, true);
                return out.toString();
            }
        };
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new EngineException("token id " + id + " is out of range: the vocabulary has "
                    + pieces.length + " tokens (ids 0.." + (pieces.length - 1) + ")");
        }
    }
}
