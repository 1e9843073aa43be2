package io.nashswarm.tokenizer;

import io.nashswarm.EngineException;
import io.nashswarm.format.FormatException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece-style BPE (LLaMA 1/2, TinyLlama, Mistral): pieces spell spaces as "▁", a "▁" is
 * put in front of the text, the text starts as single characters that merge pair by pair, and
 * characters the vocabulary lacks fall back to {@code <0xXX>} byte pieces. Built from a
 * SentencePiece {@code tokenizer.model} (merge priority = piece score, as SentencePiece does), from
 * a Hugging Face {@code tokenizer.json} converted from one (priority = merges-list rank, as
 * Hugging Face does) or from GGUF metadata. Decoding follows SentencePiece: control pieces are
 * invisible, the dummy-prefix space of the first piece is dropped, byte pieces are reassembled into
 * UTF-8 (one U+FFFD per ill-formed byte).
 */
final class SentencePieceBpe implements Tokenizer {
    /** SentencePiece's piece types (sentencepiece_model.proto); GGUF's token_type uses the same numbers. */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
    static final char SPACE = '\u2581';

    /** When "▁" is put in front of a run of text. */
    enum Prefix {
        /** Always (SentencePiece's add_dummy_prefix; Hugging Face's Prepend("▁") normalizer). */
        ALWAYS,
        /** Unless the text already starts with a space (Hugging Face Metaspace, prepend_scheme "always"). */
        UNLESS_SPACE,
        /** Only at the very start of the input, unless it starts with a space (Metaspace "first"). */
        FIRST_UNLESS_SPACE,
        NEVER
    }

    /** How text is prepared before merging, and the tokenizer's special ids. */
    record Options(Prefix prefix, boolean removeExtraWhitespaces, boolean escapeWhitespaces, boolean splitOnSpace,
                   boolean byteFallback, String unkSurface, SpecialTokens specials, int bos, int eos, boolean addBos) {}

    private final String[] pieces;
    private final int[] types;
    private final int[] byteValue;   // per id: the byte a <0xXX> piece stands for, or -1
    private final int[] byteIds;     // per byte: its <0xXX> piece, or null without byte fallback
    private final int unkId;
    private final MergeTable rules;
    private final CodePointMap symbols; // characters that start as a symbol of their own
    private final int[] virtualCp;      // symbol ids >= vocabSize: characters that occur inside pieces only
    private final MergeSpans spans;
    private final Map<Integer, String[]> userDefined; // by first code point, longest first; null if none
    private final Map<String, Integer> userDefinedIds;
    private final boolean hasUnused;
    private final Options options;
    private final WordCache cache = new WordCache();
    /** What the merge rules were built from: piece scores (SentencePiece) or a merges list (Hugging Face); the other is null. */
    private final float[] scores;
    private final List<String[]> mergeList;

    private SentencePieceBpe(String[] pieces, int[] types, MergeTable rules, CodePointMap symbols, int[] virtualCp,
                             MergeSpans spans, int unkId, Options options, float[] scores, List<String[]> mergeList) {
        this.pieces = pieces;
        this.types = types;
        this.scores = scores;
        this.mergeList = mergeList;
        this.rules = rules;
        this.symbols = symbols;
        this.virtualCp = virtualCp;
        this.spans = spans;
        this.unkId = unkId;
        this.options = options;
        this.byteValue = new int[pieces.length];
        int[] bytes = new int[256];
        Arrays.fill(bytes, -1);
        boolean anyUnused = false;
        Map<Integer, List<String>> user = new HashMap<>();
        this.userDefinedIds = new HashMap<>();
        for (int id = 0; id < pieces.length; id++) {
            byteValue[id] = types[id] == BYTE ? bytePieceValue(pieces[id]) : -1;
            if (byteValue[id] >= 0 && bytes[byteValue[id]] < 0) {
                bytes[byteValue[id]] = id;
            }
            anyUnused |= types[id] == UNUSED;
            if (types[id] == USER_DEFINED && !pieces[id].isEmpty()) {
                user.computeIfAbsent(pieces[id].codePointAt(0), k -> new ArrayList<>()).add(pieces[id]);
                userDefinedIds.putIfAbsent(pieces[id], id);
            }
        }
        this.hasUnused = anyUnused;
        boolean allBytes = Arrays.stream(bytes).allMatch(b -> b >= 0);
        this.byteIds = options.byteFallback() && allBytes ? bytes : null;
        if (user.isEmpty()) {
            this.userDefined = null;
        } else {
            this.userDefined = new HashMap<>();
            user.forEach((cp, list) -> userDefined.put(cp, list.stream()
                    .sorted(Comparator.comparingInt(String::length).reversed()).toArray(String[]::new)));
        }
    }

    /**
     * SentencePiece's own rule: a pair merges into the piece their concatenation spells, if that
     * piece is normal, user-defined or unused; the higher the piece's score, the sooner.
     */
    static SentencePieceBpe byScores(Path source, String[] pieces, float[] scores, int[] types, Options options) {
        int n = pieces.length;
        Map<String, Integer> index = new HashMap<>();
        CodePointMap symbols = new CodePointMap();
        for (int id = 0; id < n; id++) {
            if (mergeable(types[id]) && index.putIfAbsent(pieces[id], id) == null) { // a repeated piece: the first id wins
                int cp = CodePointMap.single(pieces[id]);
                if (cp >= 0) {
                    symbols.putIfAbsent(cp, id);
                }
            }
        }
        // Characters that occur inside pieces without being pieces themselves still start as
        // symbols in SentencePiece; they get ids past the vocabulary and fall back to bytes if unmerged.
        List<Integer> virtual = new ArrayList<>();
        for (int id = 0; id < n; id++) {
            if (mergeable(types[id])) {
                pieces[id].codePoints().forEach(cp -> {
                    if (!symbols.contains(cp)) {
                        symbols.putIfAbsent(cp, n + virtual.size());
                        virtual.add(cp);
                    }
                });
            }
        }
        MergeTable rules = new MergeTable(n * 2);
        MergeSpans spans = new MergeSpans();
        for (int id = 0; id < n; id++) {
            String p = pieces[id];
            if (!mergeable(types[id]) || p.length() < 2) {
                continue;
            }
            boolean any = false;
            for (int k = p.offsetByCodePoints(0, 1); k < p.length(); k = p.offsetByCodePoints(k, 1)) {
                int left = symbolId(p.substring(0, k), symbols, index);
                int right = symbolId(p.substring(k), symbols, index);
                if (left >= 0 && right >= 0) {
                    rules.putIfAbsent(left, right, id, MergeTable.costOfScore(scores[id]));
                    any = true;
                }
            }
            if (any || types[id] == USER_DEFINED) { // a user-defined piece is matched whole: never cut inside it
                spans.addMergedText(p);
            }
        }
        return new SentencePieceBpe(pieces, types, rules, symbols, virtual.stream().mapToInt(Integer::intValue).toArray(),
                spans, findUnk(types), options, scores.clone(), null);
    }

    /** Hugging Face's rule: an explicit list of merges, earlier ones first. */
    static SentencePieceBpe byMerges(Path source, String[] pieces, int[] types, List<String[]> merges, Options options) {
        Map<String, Integer> vocab = new HashMap<>();
        CodePointMap symbols = new CodePointMap();
        for (int id = 0; id < pieces.length; id++) {
            if (pieces[id] == null) {
                continue;
            }
            vocab.putIfAbsent(pieces[id], id);
            int cp = CodePointMap.single(pieces[id]);
            if (cp >= 0) {
                symbols.putIfAbsent(cp, id);
            }
        }
        MergeTable rules = new MergeTable(merges.size());
        MergeSpans spans = new MergeSpans();
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] m = merges.get(rank);
            int left = MergeTable.tokenOf(source, vocab, m, m[0], rank);
            int right = MergeTable.tokenOf(source, vocab, m, m[1], rank);
            int merged = MergeTable.tokenOf(source, vocab, m, m[0] + m[1], rank);
            rules.putIfAbsent(left, right, merged, rank);
            spans.addMergedText(m[0] + m[1]);
        }
        return new SentencePieceBpe(pieces, types, rules, symbols, new int[0], spans, findUnk(types), options, null, List.copyOf(merges));
    }

    private static boolean mergeable(int type) {
        return type == NORMAL || type == USER_DEFINED || type == UNUSED;
    }

    private static int symbolId(String s, CodePointMap symbols, Map<String, Integer> index) {
        int cp = CodePointMap.single(s);
        return cp >= 0 ? symbols.get(cp) : index.getOrDefault(s, -1);
    }

    private static int findUnk(int[] types) {
        for (int id = 0; id < types.length; id++) {
            if (types[id] == UNKNOWN) {
                return id;
            }
        }
        return -1;
    }

    /** The byte of a {@code <0xXX>} piece, or -1. */
    static int bytePieceValue(String piece) {
        if (piece.length() == 6 && piece.startsWith("<0x") && piece.charAt(5) == '>') {
            int hi = Character.digit(piece.charAt(3), 16), lo = Character.digit(piece.charAt(4), 16);
            if (hi >= 0 && lo >= 0) {
                return hi * 16 + lo;
            }
        }
        return -1;
    }

    // What it was built from, for writing it out again (see GgufTokenizerMetadata).

    int type(int id) {
        checkId(id);
        return types[id];
    }

    /** Piece scores, or null when built from a merges list. */
    float[] scores() {
        return scores == null ? null : scores.clone();
    }

    /** Merge rules in rank order, or null when built from scores. */
    List<String[]> mergeList() {
        return mergeList;
    }

    Options options() {
        return options;
    }

    /** Whether characters outside the vocabulary become {@code <0xXX>} pieces (else {@code <unk>}). */
    boolean usesByteFallback() {
        return byteIds != null;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bos() {
        return options.bos();
    }

    @Override
    public int eos() {
        return options.eos();
    }

    @Override
    public boolean addBos() {
        return options.addBos();
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    @Override
    public int[] encode(String text) {
        IntList out = new IntList(text.length() / 3 + 4);
        options.specials().split(text, new SpecialTokens.Visitor() {
            @Override
            public void text(String segment, int offset) {
                encodeSegment(segment, offset == 0, out);
            }

            @Override
            public void special(int id) {
                out.add(id);
            }
        });
        return out.toArray();
    }

    private void encodeSegment(String segment, boolean atStart, IntList out) {
        String s = normalize(segment, atStart);
        boolean[] lastWasUnk = {false};
        spans.split(s, symbols::contains, options.splitOnSpace() ? SPACE : -1, (start, end) -> {
            int[] ids = cache.get(s.substring(start, end), this::encodeSpan);
            for (int id : ids) {
                // SentencePiece joins a run of unknown characters into one <unk>.
                if (id == unkId && byteIds == null) {
                    if (lastWasUnk[0]) {
                        continue;
                    }
                    lastWasUnk[0] = true;
                } else {
                    lastWasUnk[0] = false;
                }
                out.add(id);
            }
        });
    }

    private String normalize(String text, boolean atStart) {
        String s = options.removeExtraWhitespaces() ? collapseSpaces(text) : text;
        if (s.isEmpty()) {
            return s;
        }
        if (options.escapeWhitespaces()) {
            s = s.replace(' ', SPACE);
        }
        boolean startsWithSpace = s.charAt(0) == SPACE;
        boolean prepend = switch (options.prefix()) {
            case ALWAYS -> true;
            case UNLESS_SPACE -> !startsWithSpace;
            case FIRST_UNLESS_SPACE -> atStart && !startsWithSpace;
            case NEVER -> false;
        };
        return prepend ? SPACE + s : s;
    }

    /** SentencePiece's remove_extra_whitespaces: no leading or trailing spaces, runs of spaces become one. */
    private static String collapseSpaces(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != ' ' || (sb.length() > 0 && sb.charAt(sb.length() - 1) != ' ')) {
                sb.append(c);
            }
        }
        int end = sb.length();
        while (end > 0 && sb.charAt(end - 1) == ' ') {
            end--;
        }
        return sb.substring(0, end);
    }

    /** Merges one span (see {@link MergeSpans}) of normalized text. */
    private int[] encodeSpan(String span) {
        int[] ids = new int[span.length() * 3];
        boolean[] frozen = userDefined == null ? null : new boolean[ids.length];
        int n = 0;
        for (int i = 0; i < span.length(); ) {
            int cp = span.codePointAt(i);
            String user = userDefined == null ? null : matchUserDefined(span, i, cp);
            if (user != null) {
                // User-defined pieces are taken whole and never merge, as SentencePiece's prefix matcher does.
                frozen[n] = true;
                ids[n++] = userDefinedIds.get(user);
                i += user.length();
                continue;
            }
            int id = symbols.get(cp);
            if (id >= 0) {
                ids[n++] = id;
            } else {
                n = fallback(cp, ids, n);
            }
            i += Character.charCount(cp);
        }
        Map<Integer, Long> revMerge = hasUnused ? new HashMap<>() : null;
        n = BpeMerger.merge(ids, n, rules, frozen, revMerge == null ? null
                : (merged, left, right) -> {
                    if (types[merged] == UNUSED) {
                        revMerge.put(merged, (long) left << 32 | (right & 0xffffffffL));
                    }
                });
        if (virtualCp.length == 0 && revMerge == null) {
            return Arrays.copyOf(ids, n);
        }
        IntList out = new IntList(n);
        for (int k = 0; k < n; k++) {
            emit(ids[k], out, revMerge);
        }
        return out.toArray();
    }

    /** Writes a merged symbol: virtual characters fall back to bytes, unused pieces are split back. */
    private void emit(int id, IntList out, Map<Integer, Long> revMerge) {
        if (id >= pieces.length) {
            int[] tmp = new int[4];
            int m = fallback(virtualCp[id - pieces.length], tmp, 0);
            out.addAll(tmp, m);
        } else if (revMerge != null && types[id] == UNUSED && revMerge.containsKey(id)) {
            long pair = revMerge.get(id);
            emit((int) (pair >> 32), out, revMerge);
            emit((int) pair, out, revMerge);
        } else {
            out.add(id);
        }
    }

    private int fallback(int cp, int[] ids, int n) {
        if (byteIds == null) {
            ids[n++] = unkId;
            return n;
        }
        for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
            ids[n++] = byteIds[b & 0xff];
        }
        return n;
    }

    private String matchUserDefined(String s, int i, int cp) {
        String[] candidates = userDefined.get(cp);
        if (candidates != null) {
            for (String c : candidates) {
                if (s.startsWith(c, i)) {
                    return c;
                }
            }
        }
        return null;
    }

    @Override
    public StreamDecoder streamDecoder() {
        return new Stream();
    }

    /** SentencePiece drops the first piece's leading space when encoding adds one or trims spaces. */
    private boolean stripsDummyPrefix() {
        return options.prefix() != Prefix.NEVER || options.removeExtraWhitespaces();
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new EngineException("token id " + id + " is out of range: the vocabulary has "
                    + pieces.length + " tokens (ids 0.." + (pieces.length - 1) + ")");
        }
    }

    /**
     * SentencePiece's decoder, one piece at a time: byte pieces collect into UTF-8; while nothing
     * visible has been written yet, the leading "▁" of the first piece (the dummy prefix) is dropped.
     */
    private final class Stream implements StreamDecoder {
        private final Utf8Buffer bytes = new Utf8Buffer(Utf8Buffer.Replacement.PER_BYTE);
        private boolean wroteText;
        private boolean bosSpaceSeen;
        private boolean atStart = true; // SentencePiece's is_bos_ws: once false, it stays false

        @Override
        public String push(int id) {
            checkId(id);
            StringBuilder out = new StringBuilder();
            if (byteValue[id] >= 0) {
                bytes.add(byteValue[id]);
                bytes.drain(out, false);
                wroteText |= out.length() > 0;
                return out.toString();
            }
            bytes.drain(out, true); // a run of byte pieces ends here
            wroteText |= out.length() > 0;
            if (bosSpaceSeen || wroteText) {
                atStart = false;
            }
            String text;
            switch (types[id]) {
                case CONTROL -> {
                    text = "";
                    bosSpaceSeen = false;
                }
                case UNKNOWN -> {
                    text = options.unkSurface();
                    bosSpaceSeen = false;
                }
                default -> {
                    String p = pieces[id];
                    boolean strip = atStart && stripsDummyPrefix() && !p.isEmpty() && p.charAt(0) == SPACE;
                    if (strip) {
                        p = p.substring(1);
                    }
                    // With remove_extra_whitespaces SentencePiece keeps stripping until text appears.
                    bosSpaceSeen = strip && !options.removeExtraWhitespaces();
                    text = p.replace(SPACE, ' ');
                }
            }
            out.append(text);
            wroteText |= !text.isEmpty();
            return out.toString();
        }

        @Override
        public String flush() {
            StringBuilder out = new StringBuilder();
            bytes.drain(out, true);
            wroteText |= out.length() > 0;
            return out.toString();
        }
    }
}
