package io.nashswarm.model;

import io.nashswarm.EngineException;
import io.nashswarm.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Prompt in, streamed text out: prefill the prompt as one batch, then decode token by token.
 * Without a tokenizer, prompts are token ids and the output is ids separated by spaces.
 */
public final class Generator {
    private final TransformerModel model;
    private final Tokenizer tokenizer;

    /** @param tokenizer may be null: then only {@link #generate(int[], int, Sampler, boolean, Consumer)} works */
    public Generator(TransformerModel model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        if (tokenizer != null && tokenizer.vocabSize() > model.config().vocabSize()) {
            throw new EngineException("tokenizer has " + tokenizer.vocabSize() + " tokens but the model has " + model.config().vocabSize());
        }
    }

    /** What happened, with timings for the tokens/s report. */
    public record Result(int[] promptIds, int[] generatedIds, String text, long promptNanos, long generateNanos, boolean stoppedAtEos) {
        public double promptTokensPerSecond() {
            return promptIds.length / (promptNanos / 1e9);
        }

        /** Decode speed: tokens after the first generated one (which comes out of prefill) over their time. */
        public double generationTokensPerSecond() {
            return generatedIds.length <= 1 ? Double.NaN : (generatedIds.length - 1) / (generateNanos / 1e9);
        }
    }

    /** The prompt's ids as the model sees them (BOS first where the tokenizer wants it). */
    public int[] promptIds(String prompt) {
        if (tokenizer == null) {
            throw new EngineException("this model has no tokenizer: give one with -t, or give the prompt as token ids");
        }
        int[] text = tokenizer.encode(prompt);
        if (!tokenizer.addBos() || tokenizer.bos() < 0) {
            return text;
        }
        int[] ids = new int[text.length + 1];
        ids[0] = tokenizer.bos();
        System.arraycopy(text, 0, ids, 1, text.length);
        return ids;
    }

    /**
     * Generates up to {@code maxNew} tokens after {@code prompt}, streaming text to {@code out}. Stops at
     * EOS (unless {@code ignoreEos}), after maxNew tokens, or when the context is full.
     */
    public Result generate(String prompt, int maxNew, Sampler sampler, boolean ignoreEos, Consumer<String> out) {
        return generate(promptIds(prompt), maxNew, sampler, ignoreEos, out);
    }

    /** As {@link #generate(String, int, Sampler, boolean, Consumer)} from token ids (BOS, if wanted, already included). */
    public Result generate(int[] ids, int maxNew, Sampler sampler, boolean ignoreEos, Consumer<String> out) {
        int ctx = model.config().contextLength();
        if (ids.length == 0) {
            throw new EngineException("the prompt is empty and the tokenizer adds no BOS token; give a prompt");
        }
        if (ids.length > ctx) {
            throw new EngineException("the prompt has " + ids.length + " tokens but the model's context is " + ctx + " tokens");
        }
        if (maxNew < 0) {
            throw new EngineException("the number of tokens to generate must be >= 0, got " + maxNew);
        }
        int budget = Math.min(maxNew, ctx - ids.length + 1);
        InferenceState state = model.newState(Math.min(ctx, ids.length + budget));
        Tokenizer.StreamDecoder decoder = tokenizer != null ? tokenizer.streamDecoder() : new IdPrinter();
        int eosId = tokenizer != null ? tokenizer.eos() : -1;
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            emit(decoder.push(id), text, out);
        }

        long t0 = System.nanoTime();
        float[] logits = model.forward(state, ids, 0, ids.length);
        long t1 = System.nanoTime();
        List<Integer> generated = new ArrayList<>();
        boolean eos = false;
        int[] one = new int[1];
        int next = budget > 0 ? sampler.sample(logits) : -1;
        while (generated.size() < budget) {
            if (!ignoreEos && next == eosId) {
                eos = true;
                break;
            }
            generated.add(next);
            emit(decoder.push(next), text, out);
            if (generated.size() == budget || state.length() == state.capacity()) {
                break;
            }
            if (sampler.isGreedy()) {
                next = model.forwardGreedy(state, next); // the backend picks it: no logits come back from a GPU
            } else {
                one[0] = next;
                next = sampler.sample(model.forward(state, one, 0, 1));
            }
        }
        emit(decoder.flush(), text, out);
        long t2 = System.nanoTime();
        return new Result(ids, generated.stream().mapToInt(Integer::intValue).toArray(), text.toString(), t1 - t0, t2 - t1, eos);
    }

    /** Without a tokenizer, text is the ids themselves. */
    private static final class IdPrinter implements Tokenizer.StreamDecoder {
        private boolean first = true;

        @Override
        public String push(int id) {
            String s = (first ? "" : " ") + id;
            first = false;
            return s;
        }

        @Override
        public String flush() {
            return "";
        }
    }

    private static void emit(String piece, StringBuilder text, Consumer<String> out) {
        if (!piece.isEmpty()) {
            text.append(piece);
            out.accept(piece);
        }
    }
}
