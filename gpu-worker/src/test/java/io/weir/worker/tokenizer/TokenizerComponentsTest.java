package io.weir.worker.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The tokenizer.json components one by one, on inputs small enough to check by hand. */
class TokenizerComponentsTest {

    private static JsonNode json(String text) {
        try {
            return TokenizerJson.MAPPER.readTree(text.replace('\'', '"'));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static List<String> texts(List<Piece> pieces) {
        return pieces.stream().map(Piece::text).toList();
    }

    /** Splits with an added-token matcher and lists text pieces as-is and tokens as "#id". */
    private static List<String> matchAddedTokens(List<AddedToken> tokens, String text) {
        List<String> out = new ArrayList<>();
        new AddedTokenMatcher(tokens, tokens.stream().map(AddedToken::content).toList())
                .split(new Piece(text, true), p -> out.add(p.text()), id -> out.add("#" + id));
        return out;
    }

    private static AddedToken added(int id, String content, boolean singleWord, boolean strip) {
        return new AddedToken(id, content, singleWord, strip, strip, false, true);
    }

    @Test
    void addedTokensMatchLeftmostLongest() {
        List<AddedToken> tokens = List.of(added(1, "<a>", false, false), added(2, "<a><b>", false, false));
        assertEquals(List.of("x", "#2", "y", "#1", "<b"), matchAddedTokens(tokens, "x<a><b>y<a><b"));
    }

    @Test
    void addedTokensStripAndSingleWord() {
        assertEquals(List.of("Hi", "#7", "there"),
                matchAddedTokens(List.of(added(7, "<mask>", false, true)), "Hi <mask>\tthere"));
        assertEquals(List.of("a<mask> ", "#7", ", b"),
                matchAddedTokens(List.of(added(7, "<mask>", true, false)), "a<mask> <mask>, b"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "removed              | a,b,c",
        "isolated             | a,-,b,-,-,c",
        "MergedWithPrevious   | a-,b-,-,c",
        "MergedWithNext       | a,-b,-,-c",
        "contiguous           | a,-,b,--,c",
    })
    void splitBehaviors(String behavior, String expected) {
        PreTokenizer split = PreTokenizer.parse(json(
                "{'type':'Split','pattern':{'String':'-'},'behavior':'" + behavior + "','invert':false}"));
        assertEquals(List.of(expected.split(",")), texts(split.preTokenize(new Piece("a-b--c", true))));
    }

    @Test
    void splitWithRegexAndInvert() {
        PreTokenizer split = PreTokenizer.parse(json(
                "{'type':'Split','pattern':{'Regex':'\\\\p{N}+'},'behavior':'Removed','invert':true}"));
        assertEquals(List.of("12", "345"), texts(split.preTokenize(new Piece("ab12cd345", true))));
    }

    @Test
    void metaspacePrependSchemes() {
        PreTokenizer first = PreTokenizer.parse(json(
                "{'type':'Metaspace','replacement':'▁','prepend_scheme':'first','split':true}"));
        assertEquals(List.of("▁Hey", "▁friend"), texts(first.preTokenize(new Piece("Hey friend", true))));
        // Not at the start of the input (it follows an added token): nothing is prepended.
        assertEquals(List.of("how", "▁are"), texts(first.preTokenize(new Piece("how are", false))));
        PreTokenizer always = PreTokenizer.parse(json("{'type':'Metaspace','replacement':'▁','add_prefix_space':true}"));
        assertEquals(List.of("▁how", "▁", "▁are"), texts(always.preTokenize(new Piece("how  are", false))));
        PreTokenizer noSplit = PreTokenizer.parse(json(
                "{'type':'Metaspace','replacement':'▁','prepend_scheme':'never','split':false}"));
        assertEquals(List.of("how▁are"), texts(noSplit.preTokenize(new Piece("how are", true))));
    }

    @Test
    void metaspaceFirstOnlyPrependsAtTheStartOfTheInput(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"added_tokens": [{"id": 1, "content": "<s>", "special": true, "normalized": false}],
                 "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true},
                 "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true},
                 "model": {"type": "BPE", "unk_token": "<unk>", "merges": [["▁", "a"], ["▁", "b"]],
                           "vocab": {"<unk>": 0, "<s>": 1, "▁": 2, "a": 3, "b": 4, "▁a": 5, "▁b": 6}}}""");
        Tokenizer tokenizer = Tokenizer.load(dir);
        // "a" starts the input and gets "▁"; the "a" after <s> does not.
        int[] ids = tokenizer.encode("a<s>a b", true);
        assertArrayEquals(new int[] {5, 1, 3, 6}, ids);
        assertEquals("aa b", tokenizer.decode(ids, true));
    }

    @Test
    void digits() {
        Function<Boolean, List<String>> split = individual -> texts(PreTokenizer.parse(json(
                "{'type':'Digits','individual_digits':" + individual + "}")).preTokenize(new Piece("abc123d4", true)));
        assertEquals(List.of("abc", "1", "2", "3", "d", "4"), split.apply(true));
        assertEquals(List.of("abc", "123", "d", "4"), split.apply(false));
    }

    @Test
    void byteLevelPreTokenizerUsesTheGpt2Regex() {
        PreTokenizer byteLevel = PreTokenizer.parse(json("{'type':'ByteLevel','add_prefix_space':false,'use_regex':true}"));
        // Bytes show as GPT-2 alphabet characters: space is Ġ, é (C3 A9) is Ã©.
        assertEquals(List.of("it", "'s", "Ġ3", "Ġapples", "!!", "Ġ", "ĠÃ©"),
                texts(byteLevel.preTokenize(new Piece("it's 3 apples!!  é", true))));
        PreTokenizer prefixed = PreTokenizer.parse(json("{'type':'ByteLevel','add_prefix_space':true,'use_regex':false}"));
        assertEquals(List.of("ĠHello,Ġyou"), texts(prefixed.preTokenize(new Piece("Hello, you", true))));
    }

    @Test
    void llama3StyleSequenceOfSplitAndByteLevel() throws JsonProcessingException {
        PreTokenizer sequence = PreTokenizer.parse(TokenizerJson.MAPPER.readTree("""
                {"type": "Sequence", "pretokenizers": [
                  {"type": "Split", "behavior": "Isolated", "invert": false, "pattern": {"Regex":
                    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"}},
                  {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
                """));
        assertEquals(List.of("IT", "'S", "Ġ", "123", "45", "Ġworld", "!Ċ"),
                texts(sequence.preTokenize(new Piece("IT'S 12345 world!\n", true))));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "\\p{Han}+       | 日本語abc | 日本語",
        "\\h+            | xx00ffzz  | 00ff",
        "(?i:'s)         | IT'S      | 'S",
        "[\\h_]+         | zz_a1_    | _a1_",
        "\\s+            | a\u3000\u00a0b | \u3000\u00a0",
    })
    void onigurumaRegexesBehaveAsInRust(String regex, String input, String firstMatch) {
        var matcher = OnigurumaRegex.compile(regex).matcher(input);
        assertTrue(matcher.find());
        assertEquals(firstMatch, matcher.group());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{'normalizer':{'type':'BertNormalizer'}}",
        "{'pre_tokenizer':{'type':'Whitespace'}}",
        "{'decoder':{'type':'WordPiece','prefix':'##'}}",
        "{'post_processor':{'type':'SomethingNew'}}",
        "{'model':{'type':'Unigram','vocab':[]}}",
        "{'pre_tokenizer':{'type':'Split','pattern':{'Regex':'\\\\p{NoSuchProperty}'},'behavior':'Isolated'}}",
    })
    void unsupportedComponentsAreRejectedClearly(String component, @TempDir Path dir) throws IOException {
        String base = "{'model':{'type':'BPE','vocab':{'a':0},'merges':[]}";
        JsonNode patch = json(component);
        ObjectNode root = (ObjectNode) json(base + "}");
        root.setAll((ObjectNode) patch);
        Files.writeString(dir.resolve("tokenizer.json"), root.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().startsWith("unsupported tokenizer component: "), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "true  | 3,0,3",
        "false | 3,0,0,3",
    })
    void bpeUnknownCharactersAndMergeForms(boolean fuseUnk, String expected) {
        int[] want = Arrays.stream(expected.split(",")).mapToInt(Integer::parseInt).toArray();
        for (String merges : List.of("[['a','b']]", "['a b']")) {
            BpeModel model = BpeModel.parse(json("{'type':'BPE','unk_token':'<unk>','fuse_unk':" + fuseUnk
                    + ",'vocab':{'<unk>':0,'a':1,'b':2,'ab':3},'merges':" + merges + "}"));
            IntList ids = new IntList();
            model.tokenize("abxyab", ids);
            assertArrayEquals(want, ids.toArray(), merges);
        }
    }

    @Test
    void bpeIgnoreMergesTakesWholeWordsFromTheVocabulary() {
        // "abc" is in the vocabulary but no merge path leads to it.
        String vocab = "'vocab':{'a':0,'b':1,'c':2,'ab':3,'abc':4},'merges':[['a','b']]";
        IntList merged = new IntList();
        BpeModel.parse(json("{'type':'BPE'," + vocab + "}")).tokenize("abc", merged);
        assertArrayEquals(new int[] {3, 2}, merged.toArray());
        IntList whole = new IntList();
        BpeModel.parse(json("{'type':'BPE','ignore_merges':true," + vocab + "}")).tokenize("abc", whole);
        assertArrayEquals(new int[] {4}, whole.toArray());
    }

    @Test
    void decoders() {
        assertEquals("Hey friend", Decoder.parse(json("{'type':'Metaspace','replacement':'▁','prepend_scheme':'always'}"))
                .decode(List.of("▁Hey", "▁friend")));
        // Without Fuse, Strip strips every token.
        assertEquals("ab", Decoder.parse(json("{'type':'Strip','content':' ','start':1,'stop':1}"))
                .decode(List.of(" a ", " b")));
        Decoder byteFallback = Decoder.parse(json("{'type':'ByteFallback'}"));
        assertEquals("é!", byteFallback.decode(List.of("<0xC3>", "<0xA9>", "!")));
        // Invalid or incomplete UTF-8: one U+FFFD per byte, as in the Rust library.
        assertEquals("\uFFFDa", byteFallback.decode(List.of("<0xC3>", "a")));
        assertEquals("\uFFFD\uFFFD", byteFallback.decode(List.of("<0xE6>", "<0x97>")));
        assertEquals("a b", Decoder.parse(null).decode(List.of("a", "b")));
        // A String pattern is taken literally, and so is its content (no regex, no group references)
        assertEquals("a$1b$1", Decoder.parse(json("{'type':'Replace','pattern':{'String':'.'},'content':'$1'}"))
                .decode(List.of("a.b", ".")));
        assertEquals("a-b", Decoder.parse(json("{'type':'Replace','pattern':{'Regex':'[._]+'},'content':'-'}"))
                .decode(List.of("a._b")));
    }

    @Test
    void normalizers() {
        assertEquals("x_y_z", Normalizer.parse(json("{'type':'Replace','pattern':{'Regex':' +'},'content':'_'}"))
                .normalize("x  y z"));
        assertEquals("fi2", Normalizer.parse(json("{'type':'NFKC'}")).normalize("ﬁ²"));
        assertEquals("▁hello▁you", Normalizer.parse(json("""
                {'type':'Sequence','normalizers':[{'type':'Lowercase'},{'type':'Strip','strip_left':true,'strip_right':true},
                 {'type':'Prepend','prepend':'▁'},{'type':'Replace','pattern':{'String':' '},'content':'▁'}]}""")).normalize(" Hello You\u00a0"));
    }

    @Test
    void templateProcessingAddsTokensAroundTheSequence() {
        PostProcessor template = PostProcessor.parse(json("""
                {'type':'TemplateProcessing',
                 'single':[{'SpecialToken':{'id':'<s>','type_id':0}},{'Sequence':{'id':'A','type_id':0}},{'SpecialToken':{'id':'</s>','type_id':0}}],
                 'special_tokens':{'<s>':{'id':'<s>','ids':[1],'tokens':['<s>']},'</s>':{'id':'</s>','ids':[2],'tokens':['</s>']}}}"""));
        assertArrayEquals(new int[] {1, 7, 8, 2}, template.process(new int[] {7, 8}));
    }

    @Test
    void llamaTokenizerConfigFlagsOverrideThePostProcessor(@TempDir Path dir) throws IOException {
        Path shared = TestModels.sharedModel("stories260K");
        Files.copy(shared.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": false, "add_eos_token": true,
                 "bos_token": {"content": "<s>", "special": true}, "eos_token": "</s>"}""");
        Tokenizer tokenizer = Tokenizer.load(dir);
        int[] ids = tokenizer.encode("Once upon a time", true);
        assertArrayEquals(new int[] {403, 407, 261, 378, 2}, ids);
        assertEquals(1, tokenizer.bosTokenId().orElseThrow());
    }
}
