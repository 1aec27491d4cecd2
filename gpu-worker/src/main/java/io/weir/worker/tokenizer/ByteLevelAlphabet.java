package io.weir.worker.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * GPT-2's {@code bytes_to_unicode} table: every byte gets a printable character so that BPE can
 * work on bytes while the vocabulary stays valid text. Printable Latin-1 bytes map to themselves;
 * the other 68 bytes (controls, space, DEL, NBSP, soft hyphen) map to U+0100 and up.
 */
final class ByteLevelAlphabet {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE;

    static {
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + next++);
        }
        CHAR_TO_BYTE = new int[256 + next];
        Arrays.fill(CHAR_TO_BYTE, -1);
        for (int b = 0; b < 256; b++) {
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    private ByteLevelAlphabet() {}

    /** Maps the UTF-8 bytes of {@code text} to one alphabet character each. */
    static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    /**
     * Appends the bytes that {@code token} stands for. A token containing a character outside the
     * alphabet (an added token such as {@code <|im_start|>} written with other characters) is taken
     * as its own UTF-8 text, as the Rust ByteLevel decoder does.
     */
    static void appendBytes(String token, ByteArrayOutputStream out) {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                out.writeBytes(token.getBytes(StandardCharsets.UTF_8));
                return;
            }
            bytes[i] = (byte) b;
        }
        out.writeBytes(bytes);
    }
}
