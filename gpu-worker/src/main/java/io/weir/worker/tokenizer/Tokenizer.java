package io.weir.worker.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.IntUnaryOperator;
import java.util.stream.IntStream;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer (BPE models of the Llama and GPT-2 families),
 * in plain Java. Encoding follows the Rust library: split the input on added tokens, normalize
 * the text between them, pre-tokenize it into words, run BPE on each word, and (if asked) let the
 * post-processor add special tokens such as BOS. Instances are immutable and thread-safe.
 */
public final class Tokenizer {
    private final BpeModel model;
    private final AddedTokens addedTokens;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final int vocabSize;
    private final int bosTokenId;
    private final int eosTokenId;
    private final int[] eosTokenIds;

    private Tokenizer(TokenizerJson json, TokenizerConfig config) {
        this.model = json.model();
        this.normalizer = json.normalizer();
        this.addedTokens = new AddedTokens(json.addedTokens(), normalizer);
        this.preTokenizer = json.preTokenizer();
        this.decoder = json.decoder();
        this.vocabSize = Math.max(model.maxId(), addedTokens.maxId()) + 1;
        // tokenizer_config.json names the tokens; generation_config.json / config.json give ids.
        int[] configEos = config.eosTokenIds();
        this.bosTokenId = idOfOr(config.bosToken(), config.bosTokenId());
        this.eosTokenId = idOfOr(config.eosToken(), configEos.length > 0 ? configEos[0] : -1);
        this.eosTokenIds = IntStream.concat(IntStream.of(eosTokenId), IntStream.of(configEos))
                .filter(id -> id >= 0).distinct().toArray();
        this.postProcessor = config.templateFromFlags() ? templateFromFlags(config) : json.postProcessor();
    }

    private int idOfOr(String token, int fallback) {
        return token == null ? fallback : tokenId(token).orElse(fallback);
    }

    /**
     * Loads {@code tokenizer.json} from a model directory, with {@code tokenizer_config.json},
     * {@code generation_config.json} and {@code config.json} when present.
     *
     * @throws IllegalArgumentException if the file uses a component this class does not support
     */
    public static Tokenizer load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no tokenizer.json in " + modelDir);
        }
        return new Tokenizer(TokenizerJson.read(file), TokenizerConfig.read(modelDir));
    }

    /** BOS/EOS as tokenizer_config.json's add_bos_token/add_eos_token say (transformers' Llama classes). */
    private PostProcessor templateFromFlags(TokenizerConfig config) {
        boolean addBos = config.addBosToken() == null || config.addBosToken();
        boolean addEos = config.addEosToken() != null && config.addEosToken();
        if ((addBos && bosTokenId < 0) || (addEos && eosTokenId < 0)) {
            throw new IllegalArgumentException("tokenizer_config.json asks for BOS/EOS but the token is unknown");
        }
        return new PostProcessor.Template(
                addBos ? new int[] {bosTokenId} : new int[0], addEos ? new int[] {eosTokenId} : new int[0]);
    }

    /**
     * Encodes text. Special tokens written in the text (such as {@code <s>}) are recognized.
     *
     * @param addSpecialTokens apply the post-processor (for Llama: prepend BOS)
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        IntList ids = new IntList(Math.max(16, text.length() / 3));
        addedTokens.splitRaw(new Piece(text, true), raw -> {
            Piece normalized = raw.withText(normalizer.normalize(raw.text()));
            addedTokens.splitNormalized(normalized, piece -> {
                for (Piece word : preTokenizer.preTokenize(piece)) {
                    model.tokenize(word.text(), ids);
                }
            }, ids::add);
        }, ids::add);
        return addSpecialTokens ? postProcessor.process(ids.toArray()) : ids.toArray();
    }

    /** Decodes ids to text; unknown ids are ignored, as in the Rust library. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return decode(i -> ids[i], 0, ids.length, skipSpecialTokens);
    }

    /** Decodes {@code ids[from, to)}. */
    String decode(IntList ids, int from, int to, boolean skipSpecialTokens) {
        return decode(ids::get, from, to, skipSpecialTokens);
    }

    private String decode(IntUnaryOperator idAt, int from, int to, boolean skipSpecialTokens) {
        List<String> pieces = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            int id = idAt.applyAsInt(i);
            if (!(skipSpecialTokens && isSpecial(id))) {
                String piece = pieceOrNull(id);
                if (piece != null) {
                    pieces.add(piece);
                }
            }
        }
        return decoder.decode(pieces);
    }

    /**
     * A streaming detokenizer for text generated after {@code promptIds}.
     *
     * @see IncrementalDecoder
     */
    public IncrementalDecoder newIncrementalDecoder(int[] promptIds, boolean skipSpecialTokens) {
        return new IncrementalDecoder(this, promptIds, skipSpecialTokens);
    }

    /** Number of ids: one more than the largest id of the vocabulary and the added tokens. */
    public int vocabSize() {
        return vocabSize;
    }

    public OptionalInt bosTokenId() {
        return bosTokenId < 0 ? OptionalInt.empty() : OptionalInt.of(bosTokenId);
    }

    public OptionalInt eosTokenId() {
        return eosTokenId < 0 ? OptionalInt.empty() : OptionalInt.of(eosTokenId);
    }

    /** Every id that ends generation: the EOS token and the eos_token_id list of generation_config.json. */
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    /** Whether {@code id} is a special added token (skipped by {@code decode(ids, true)}). */
    public boolean isSpecial(int id) {
        return addedTokens.isSpecial(id);
    }

    /**
     * The raw vocabulary string of a token, e.g. {@code "▁there"}, {@code "<0x0A>"} or {@code "<s>"}.
     *
     * @throws IllegalArgumentException if no token has this id
     */
    public String tokenPiece(int id) {
        String piece = pieceOrNull(id);
        if (piece == null) {
            throw new IllegalArgumentException("no token with id " + id);
        }
        return piece;
    }

    /** The id of a vocabulary string or added token. */
    public OptionalInt tokenId(String piece) {
        AddedToken added = addedTokens.byContent(piece);
        if (added != null) {
            return OptionalInt.of(added.id());
        }
        int id = model.id(piece);
        return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
    }

    private String pieceOrNull(int id) {
        AddedToken added = addedTokens.byId(id);
        return added != null ? added.content() : model.token(id);
    }
}
