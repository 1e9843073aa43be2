package io.nashswarm.tokenizer;

/**
 * Text ↔ token ids. {@code decode(encode(s)).equals(s)} holds for any text the tokenizer can
 * represent (with SentencePiece-style tokenizers that means: the dummy prefix space added by
 * encode is removed by decode).
 */
public interface Tokenizer {
    int vocabSize();

    /** Token ids of {@code text}, with no BOS/EOS added. */
    int[] encode(String text);

    /**
     * The text of a whole sequence of ids: a fresh {@link #streamDecoder()} fed every id, then flushed,
     * so whole and streamed decoding cannot disagree. Control tokens render as the reference library
     * renders them: SentencePiece drops {@code <s>}/{@code </s>}; GPT-2 writes {@code <|endoftext|>}.
     */
    default String decode(int[] ids) {
        StreamDecoder d = streamDecoder();
        StringBuilder sb = new StringBuilder(ids.length * 4);
        for (int id : ids) {
            sb.append(d.push(id));
        }
        return sb.append(d.flush()).toString();
    }

    /**
     * A decoder for streaming generated tokens: it holds back incomplete UTF-8 sequences. A fresh
     * decoder stands at the start of a sequence, so (for SentencePiece and llama2.c vocabularies)
     * the first piece's leading space is dropped as {@link #decode} does; to continue after a
     * prompt, push the prompt's tokens first and discard what they return.
     */
    StreamDecoder streamDecoder();

    /** Beginning-of-sequence id, or -1 if the tokenizer has none. */
    int bos();

    /** End-of-sequence id, or -1 if the tokenizer has none. */
    int eos();

    /** Whether a sequence should start with {@link #bos()} (LLaMA: yes; GPT-2: no). */
    boolean addBos();

    /** The token's text as stored in the vocabulary (for display and inspection). */
    String piece(int id);

    /** Streams generated tokens into text. */
    interface StreamDecoder {
        /** Text completed by this token (possibly empty). */
        String push(int id);

        /** Whatever remains buffered (e.g. a truncated UTF-8 sequence, rendered with U+FFFD). */
        String flush();
    }
}
