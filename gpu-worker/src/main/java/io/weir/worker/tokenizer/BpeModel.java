package io.weir.worker.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of tokenizer.json. A word starts as one symbol per character (or per byte, with
 * byte fallback, for characters outside the vocabulary); then the pair with the lowest merge rank,
 * leftmost first, is merged until no pair merges. The pairs wait in a priority queue and the
 * symbols form a linked list, so a word of n characters costs O(n log n), which matters for
 * tokenizers without a pre-tokenizer where the whole text is one word.
 */
final class BpeModel {
    // Short words repeat (pre-tokenized text); long ones (whole texts, no pre-tokenizer) do not.
    private static final int CACHE_MAX_WORD_LENGTH = 128;
    private static final int CACHE_MAX_ENTRIES = 50_000;

    private final Map<String, Integer> tokenToId;
    private final String[] idToToken;
    private final MergeRanks merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    private final String continuingSubwordPrefix;
    private final String endOfWordSuffix;
    /** Id of {@code <0xNN>} for each byte, or -1; null without byte fallback. */
    private final int[] byteFallbackIds;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private BpeModel(Map<String, Integer> tokenToId, MergeRanks merges, JsonNode config) {
        this.tokenToId = tokenToId;
        this.merges = merges;
        int maxId = -1;
        for (int id : tokenToId.values()) {
            maxId = Math.max(maxId, id);
        }
        this.idToToken = new String[maxId + 1];
        tokenToId.forEach((token, id) -> idToToken[id] = token);
        String unk = TokenizerJson.textOrNull(config, "unk_token");
        if (unk != null && !tokenToId.containsKey(unk)) {
            throw new IllegalArgumentException("BPE unk_token " + unk + " is not in the vocabulary");
        }
        this.unkId = unk == null ? -1 : tokenToId.get(unk);
        this.fuseUnk = config.path("fuse_unk").asBoolean(false);
        this.ignoreMerges = config.path("ignore_merges").asBoolean(false);
        this.continuingSubwordPrefix = TokenizerJson.textOrNull(config, "continuing_subword_prefix");
        this.endOfWordSuffix = TokenizerJson.textOrNull(config, "end_of_word_suffix");
        if (config.path("byte_fallback").asBoolean(false)) {
            byteFallbackIds = new int[256];
            for (int b = 0; b < 256; b++) {
                byteFallbackIds[b] = tokenToId.getOrDefault(byteToken(b), -1);
            }
        } else {
            byteFallbackIds = null;
        }
        // "dropout" is ignored on purpose: serving wants the deterministic segmentation.
    }

    /** The byte fallback token of {@code b}, spelled like the Rust library: {@code <0x0A>}. */
    private static String byteToken(int b) {
        String hex = "0123456789ABCDEF";
        return "<0x" + hex.charAt(b >> 4) + hex.charAt(b & 15) + ">";
    }

    static BpeModel parse(JsonNode model) {
        try (JsonParser parser = model.traverse(TokenizerJson.MAPPER)) {
            parser.nextToken();
            return read(parser);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads the {@code model} object the parser is at. The vocabulary and merges (tens of
     * thousands of entries for real models) are streamed rather than built as a JSON tree, which
     * keeps loading fast.
     */
    static BpeModel read(JsonParser parser) throws IOException {
        ObjectNode config = TokenizerJson.MAPPER.createObjectNode();
        Map<String, Integer> tokenToId = null;
        List<String[]> mergePairs = List.of();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken value = parser.nextToken();
            if (field.equals("vocab") && value == JsonToken.START_OBJECT) {
                tokenToId = readVocab(parser);
            } else if (field.equals("merges") && value == JsonToken.START_ARRAY) {
                mergePairs = readMerges(parser);
            } else {
                config.set(field, TokenizerJson.MAPPER.readTree(parser));
            }
        }
        String type = config.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw TokenizerJson.unsupported("model " + type);
        }
        if (tokenToId == null) {
            throw new IllegalArgumentException("BPE model without a vocab object");
        }
        String prefix = TokenizerJson.textOrNull(config, "continuing_subword_prefix");
        MergeRanks merges = new MergeRanks(mergePairs.size());
        for (int rank = 0; rank < mergePairs.size(); rank++) {
            String left = mergePairs.get(rank)[0];
            String right = mergePairs.get(rank)[1];
            // With a continuing-subword prefix ("##"), "a" + "##b" merges into "ab".
            String rightPart = prefix != null && right.startsWith(prefix) ? right.substring(prefix.length()) : right;
            merges.put(idOf(tokenToId, left, rank), idOf(tokenToId, right, rank),
                    rank, idOf(tokenToId, left + rightPart, rank));
        }
        return new BpeModel(tokenToId, merges, config);
    }

    private static Map<String, Integer> readVocab(JsonParser parser) throws IOException {
        Map<String, Integer> tokenToId = new HashMap<>(1 << 16);
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String token = parser.currentName();
            parser.nextToken();
            tokenToId.put(token, parser.getIntValue());
        }
        return tokenToId;
    }

    /** A merge is either {@code "a b"} (older files) or {@code ["a", "b"]}. */
    private static List<String[]> readMerges(JsonParser parser) throws IOException {
        List<String[]> pairs = new ArrayList<>(1 << 16);
        for (JsonToken token = parser.nextToken(); token != JsonToken.END_ARRAY; token = parser.nextToken()) {
            String[] pair = null;
            if (token == JsonToken.VALUE_STRING) {
                String text = parser.getText();
                int space = text.indexOf(' ');
                pair = space < 0 ? null : new String[] {text.substring(0, space), text.substring(space + 1)};
            } else if (token == JsonToken.START_ARRAY && parser.nextToken() == JsonToken.VALUE_STRING) {
                String left = parser.getText();
                if (parser.nextToken() == JsonToken.VALUE_STRING) {
                    pair = new String[] {left, parser.getText()};
                    pair = parser.nextToken() == JsonToken.END_ARRAY ? pair : null;
                }
            }
            if (pair == null) {
                throw new IllegalArgumentException(
                        "BPE merge " + pairs.size() + " is neither \"a b\" nor [\"a\", \"b\"] at " + parser.currentLocation());
            }
            pairs.add(pair);
        }
        return pairs;
    }

    private static int idOf(Map<String, Integer> tokenToId, String token, int rank) {
        Integer id = tokenToId.get(token);
        if (id == null) {
            throw new IllegalArgumentException("BPE merge " + rank + " uses " + token + ", which is not in the vocabulary");
        }
        return id;
    }

    /** Ids run from 0 to {@code maxId()}. */
    int maxId() {
        return idToToken.length - 1;
    }

    /** The vocabulary string of {@code id}, or null. */
    String token(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** The id of a vocabulary string, or -1. */
    int id(String token) {
        return tokenToId.getOrDefault(token, -1);
    }

    /** Appends the ids of one pre-tokenized word. */
    void tokenize(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer whole = tokenToId.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        boolean cacheable = word.length() <= CACHE_MAX_WORD_LENGTH;
        int[] ids = cacheable ? cache.get(word) : null;
        if (ids == null) {
            ids = merge(initialSymbols(word));
            if (cacheable && cache.size() < CACHE_MAX_ENTRIES) {
                cache.put(word, ids);
            }
        }
        out.addAll(ids);
    }

    /** One symbol per character; byte tokens or unk for characters outside the vocabulary. */
    private IntList initialSymbols(String word) {
        IntList symbols = new IntList(word.length());
        boolean previousWasUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int next = i + Character.charCount(cp);
            String ch = word.substring(i, next);
            String lookup = (i > 0 && continuingSubwordPrefix != null ? continuingSubwordPrefix : "")
                    + ch + (next == word.length() && endOfWordSuffix != null ? endOfWordSuffix : "");
            i = next;
            int id = id(lookup);
            if (id >= 0) {
                symbols.add(id);
                previousWasUnk = false;
            } else if (addByteFallback(ch, symbols)) {
                previousWasUnk = false;
            } else if (unkId >= 0) {
                if (!(fuseUnk && previousWasUnk)) {
                    symbols.add(unkId);
                }
                previousWasUnk = true;
            }
            // Without an unk token the Rust library drops the character; so do we.
        }
        return symbols;
    }

    private boolean addByteFallback(String ch, IntList symbols) {
        if (byteFallbackIds == null) {
            return false;
        }
        byte[] bytes = ch.getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            if (byteFallbackIds[b & 0xFF] < 0) {
                return false;
            }
        }
        for (byte b : bytes) {
            symbols.add(byteFallbackIds[b & 0xFF]);
        }
        return true;
    }

    /** Applies merges, lowest rank first and leftmost first among equal ranks. */
    private int[] merge(IntList initial) {
        int n = initial.size();
        int[] symbol = initial.toArray();
        int[] prev = new int[n];
        int[] next = new int[n];
        PairQueue queue = new PairQueue(n);
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                queue.offer(merges.rank(symbol[i], symbol[i + 1]), i);
            }
        }
        int remaining = n;
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int rank = PairQueue.rank(top);
            int pos = PairQueue.position(top);
            int right = next[pos];
            // Skip entries made stale by an earlier merge at or next to this position.
            if (symbol[pos] < 0 || right < 0 || merges.rank(symbol[pos], symbol[right]) != rank) {
                continue;
            }
            symbol[pos] = merges.mergedId(rank);
            symbol[right] = -1;
            remaining--;
            int after = next[right];
            next[pos] = after;
            if (after >= 0) {
                prev[after] = pos;
                queue.offer(merges.rank(symbol[pos], symbol[after]), pos);
            }
            if (prev[pos] >= 0) {
                queue.offer(merges.rank(symbol[prev[pos]], symbol[pos]), prev[pos]);
            }
        }
        int[] ids = new int[remaining];
        int k = 0;
        for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) {
            ids[k++] = symbol[i];
        }
        return ids;
    }
}
