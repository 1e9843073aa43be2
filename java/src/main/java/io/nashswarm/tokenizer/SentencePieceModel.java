package io.nashswarm.tokenizer;

import io.nashswarm.format.FormatException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads a SentencePiece {@code tokenizer.model} (a serialized ModelProto, see sentencepiece_model.proto):
 * the pieces with their scores and types, and the trainer and normalizer settings that change
 * encoding. Only BPE models with the identity normalization are supported (LLaMA 1/2, Mistral,
 * TinyLlama); others are refused with a clear message rather than tokenized differently.
 */
final class SentencePieceModel {
    // Field numbers from sentencepiece_model.proto.
    private static final int MODEL_PIECES = 1, MODEL_TRAINER_SPEC = 2, MODEL_NORMALIZER_SPEC = 3, MODEL_DENORMALIZER_SPEC = 5;
    private static final int PIECE_PIECE = 1, PIECE_SCORE = 2, PIECE_TYPE = 3;
    private static final int TRAINER_MODEL_TYPE = 3, TRAINER_TREAT_WS_AS_SUFFIX = 24, TRAINER_BYTE_FALLBACK = 35,
            TRAINER_BOS_ID = 41, TRAINER_EOS_ID = 42, TRAINER_UNK_SURFACE = 44;
    private static final int NORMALIZER_NAME = 1, NORMALIZER_CHARSMAP = 2, NORMALIZER_ADD_DUMMY_PREFIX = 3,
            NORMALIZER_REMOVE_EXTRA_WHITESPACES = 4, NORMALIZER_ESCAPE_WHITESPACES = 5;
    private static final int MODEL_TYPE_UNIGRAM = 1, MODEL_TYPE_BPE = 2;

    private SentencePieceModel() {}

    /** Whether the file starts the way every ModelProto does (field 1, length-delimited). */
    static boolean mayBe(byte[] data) {
        return data.length > 0 && data[0] == 0x0A;
    }

    static Tokenizer read(Path path, byte[] data) {
        try {
            return parse(path, data);
        } catch (ProtoReader.Malformed e) {
            throw new FormatException(path, "corrupt SentencePiece model (protobuf): " + e.getMessage());
        }
    }

    private static Tokenizer parse(Path path, byte[] data) {
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        int modelType = MODEL_TYPE_UNIGRAM; // proto default
        boolean byteFallback = false, treatWsAsSuffix = false, sawTrainer = false;
        int bos = 1, eos = 2;
        String unkSurface = " \u2047 ";
        boolean addDummyPrefix = true, removeExtraWhitespaces = true, escapeWhitespaces = true;
        String normalizerName = "";
        int charsmapBytes = 0, denormalizerCharsmapBytes = 0;

        ProtoReader model = new ProtoReader(data);
        while (!model.atEnd()) {
            int tag = model.readTag();
            switch (ProtoReader.fieldNumber(tag)) {
                case MODEL_PIECES -> {
                    expect(tag, ProtoReader.LENGTH_DELIMITED, "pieces");
                    ProtoReader p = model.readMessage();
                    String piece = "";
                    float score = 0;
                    int type = SentencePieceBpe.NORMAL;
                    while (!p.atEnd()) {
                        int t = p.readTag();
                        switch (ProtoReader.fieldNumber(t)) {
                            case PIECE_PIECE -> { expect(t, ProtoReader.LENGTH_DELIMITED, "piece"); piece = p.readString(); }
                            case PIECE_SCORE -> { expect(t, ProtoReader.FIXED32, "score"); score = p.readFloat(); }
                            case PIECE_TYPE -> { expect(t, ProtoReader.VARINT, "type"); type = (int) p.readVarint(); }
                            default -> p.skip(t);
                        }
                    }
                    if (piece.isEmpty()) {
                        throw new FormatException(path, "piece " + pieces.size() + " is empty");
                    }
                    if (type < SentencePieceBpe.NORMAL || type > SentencePieceBpe.BYTE) {
                        throw new FormatException(path, "piece " + pieces.size() + " ('" + piece + "') has unknown type " + type);
                    }
                    pieces.add(piece);
                    scores.add(score);
                    types.add(type);
                }
                case MODEL_TRAINER_SPEC -> {
                    expect(tag, ProtoReader.LENGTH_DELIMITED, "trainer_spec");
                    sawTrainer = true;
                    ProtoReader t = model.readMessage();
                    while (!t.atEnd()) {
                        int ft = t.readTag();
                        switch (ProtoReader.fieldNumber(ft)) {
                            case TRAINER_MODEL_TYPE -> { expect(ft, ProtoReader.VARINT, "model_type"); modelType = (int) t.readVarint(); }
                            case TRAINER_BYTE_FALLBACK -> { expect(ft, ProtoReader.VARINT, "byte_fallback"); byteFallback = t.readBool(); }
                            case TRAINER_TREAT_WS_AS_SUFFIX -> { expect(ft, ProtoReader.VARINT, "treat_whitespace_as_suffix"); treatWsAsSuffix = t.readBool(); }
                            case TRAINER_BOS_ID -> { expect(ft, ProtoReader.VARINT, "bos_id"); bos = (int) t.readVarint(); }
                            case TRAINER_EOS_ID -> { expect(ft, ProtoReader.VARINT, "eos_id"); eos = (int) t.readVarint(); }
                            case TRAINER_UNK_SURFACE -> { expect(ft, ProtoReader.LENGTH_DELIMITED, "unk_surface"); unkSurface = t.readString(); }
                            default -> t.skip(ft);
                        }
                    }
                }
                case MODEL_NORMALIZER_SPEC -> {
                    expect(tag, ProtoReader.LENGTH_DELIMITED, "normalizer_spec");
                    ProtoReader n = model.readMessage();
                    while (!n.atEnd()) {
                        int ft = n.readTag();
                        switch (ProtoReader.fieldNumber(ft)) {
                            case NORMALIZER_NAME -> { expect(ft, ProtoReader.LENGTH_DELIMITED, "name"); normalizerName = n.readString(); }
                            case NORMALIZER_CHARSMAP -> { expect(ft, ProtoReader.LENGTH_DELIMITED, "precompiled_charsmap"); charsmapBytes = n.readBytes().length; }
                            case NORMALIZER_ADD_DUMMY_PREFIX -> { expect(ft, ProtoReader.VARINT, "add_dummy_prefix"); addDummyPrefix = n.readBool(); }
                            case NORMALIZER_REMOVE_EXTRA_WHITESPACES -> { expect(ft, ProtoReader.VARINT, "remove_extra_whitespaces"); removeExtraWhitespaces = n.readBool(); }
                            case NORMALIZER_ESCAPE_WHITESPACES -> { expect(ft, ProtoReader.VARINT, "escape_whitespaces"); escapeWhitespaces = n.readBool(); }
                            default -> n.skip(ft);
                        }
                    }
                }
                case MODEL_DENORMALIZER_SPEC -> {
                    expect(tag, ProtoReader.LENGTH_DELIMITED, "denormalizer_spec");
                    ProtoReader n = model.readMessage();
                    while (!n.atEnd()) {
                        int ft = n.readTag();
                        if (ProtoReader.fieldNumber(ft) == NORMALIZER_CHARSMAP && ProtoReader.wireType(ft) == ProtoReader.LENGTH_DELIMITED) {
                            denormalizerCharsmapBytes = n.readBytes().length;
                        } else {
                            n.skip(ft);
                        }
                    }
                }
                default -> model.skip(tag);
            }
        }

        if (pieces.isEmpty() || !sawTrainer) {
            throw new FormatException(path, "not a SentencePiece model: " + (pieces.isEmpty() ? "no pieces" : "no trainer_spec"));
        }
        if (modelType != MODEL_TYPE_BPE) {
            throw new FormatException(path, "SentencePiece model_type " + modelTypeName(modelType)
                    + " is not supported: only BPE models (as LLaMA's) are");
        }
        if (charsmapBytes > 0) {
            throw new FormatException(path, "SentencePiece normalization '" + normalizerName
                    + "' (a precompiled character map) is not supported: only the identity normalization is");
        }
        if (denormalizerCharsmapBytes > 0) {
            throw new FormatException(path, "SentencePiece denormalization rules are not supported");
        }
        if (treatWsAsSuffix) {
            throw new FormatException(path, "treat_whitespace_as_suffix is not supported");
        }
        int n = pieces.size();
        Set<String> normal = new HashSet<>();
        for (int i = 0; i < n; i++) {
            int t = types.get(i);
            boolean isNormal = t == SentencePieceBpe.NORMAL || t == SentencePieceBpe.USER_DEFINED || t == SentencePieceBpe.UNUSED;
            if (isNormal && !normal.add(pieces.get(i))) {
                throw new FormatException(path, "piece '" + pieces.get(i) + "' is defined twice"); // as SentencePiece refuses it
            }
        }
        String[] pieceArray = pieces.toArray(String[]::new);
        float[] scoreArray = new float[n];
        int[] typeArray = new int[n];
        int unk = -1;
        for (int i = 0; i < n; i++) {
            scoreArray[i] = scores.get(i);
            typeArray[i] = types.get(i);
            if (typeArray[i] == SentencePieceBpe.UNKNOWN) {
                if (unk >= 0) {
                    throw new FormatException(path, "two unknown pieces (ids " + unk + " and " + i + ")");
                }
                unk = i;
            }
        }
        if (unk < 0) {
            throw new FormatException(path, "no unknown piece (<unk>) is defined");
        }
        if (byteFallback) {
            boolean[] seen = new boolean[256];
            for (int i = 0; i < n; i++) {
                if (typeArray[i] == SentencePieceBpe.BYTE) {
                    int b = SentencePieceBpe.bytePieceValue(pieceArray[i]);
                    if (b < 0) {
                        throw new FormatException(path, "byte piece " + i + " ('" + pieceArray[i] + "') is not of the form <0xXX>");
                    }
                    seen[b] = true;
                }
            }
            for (int b = 0; b < 256; b++) {
                if (!seen[b]) {
                    throw new FormatException(path, String.format("byte_fallback is on but there is no piece <0x%02X>", b));
                }
            }
        }
        checkId(path, bos, n, "bos_id");
        checkId(path, eos, n, "eos_id");
        var options = new SentencePieceBpe.Options(
                addDummyPrefix ? SentencePieceBpe.Prefix.ALWAYS : SentencePieceBpe.Prefix.NEVER,
                removeExtraWhitespaces, escapeWhitespaces, false, byteFallback, unkSurface,
                SpecialTokens.NONE, bos, eos, bos >= 0);
        return SentencePieceBpe.byScores(path, pieceArray, scoreArray, typeArray, options);
    }

    private static void checkId(Path path, int id, int n, String name) {
        if (id < -1 || id >= n) {
            throw new FormatException(path, name + " " + id + " is outside the " + n + " pieces");
        }
    }

    private static void expect(int tag, int wireType, String field) {
        if (ProtoReader.wireType(tag) != wireType) {
            throw new ProtoReader.Malformed("field '" + field + "' has wire type " + ProtoReader.wireType(tag)
                    + ", expected " + wireType);
        }
    }

    private static String modelTypeName(int type) {
        return switch (type) {
            case 1 -> "UNIGRAM";
            case 2 -> "BPE";
            case 3 -> "WORD";
            case 4 -> "CHAR";
            default -> String.valueOf(type);
        };
    }
}
