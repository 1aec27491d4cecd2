package io.weir.worker.tokenizer;

/** Character classes with the Unicode meaning used by the Rust tokenizers library. */
final class UnicodeChars {
    private UnicodeChars() {}

    /** The Unicode White_Space property (Rust's {@code char::is_whitespace}, regex {@code \s}). */
    static boolean isWhitespace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    /** A Unicode word character (regex {@code \w}): letters, marks, decimal digits, connectors. */
    static boolean isWordChar(int cp) {
        if (Character.isAlphabetic(cp) || Character.isDigit(cp) || cp == 0x200C || cp == 0x200D) {
            return true;
        }
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                || type == Character.ENCLOSING_MARK || type == Character.CONNECTOR_PUNCTUATION;
    }
}
