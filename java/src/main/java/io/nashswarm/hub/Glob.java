package io.nashswarm.hub;

import java.util.regex.Pattern;

/**
 * A file-name pattern as {@code huggingface-cli download --include} reads it (Python's fnmatch):
 * {@code *} matches any run of characters, slashes included, {@code ?} one character, {@code [abc]} and
 * {@code [!abc]} a character class. A pattern ending in {@code /} means everything under that folder.
 */
public final class Glob {
    private final String text;
    private final Pattern regex;

    private Glob(String text, Pattern regex) {
        this.text = text;
        this.regex = regex;
    }

    public static Glob of(String pattern) {
        String p = pattern.endsWith("/") ? pattern + "*" : pattern;
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                case '[' -> {
                    boolean negate = i + 1 < p.length() && p.charAt(i + 1) == '!';
                    int first = i + (negate ? 2 : 1);
                    int close = p.indexOf(']', first + 1);  // a ']' right after '[' or '[!' is a member
                    if (close < 0) {
                        re.append("\\[");  // an unclosed '[' is a literal, as in fnmatch
                        continue;
                    }
                    String body = p.substring(first, close);
                    re.append('[').append(negate ? "^" : "");
                    for (char b : body.toCharArray()) {
                        re.append(b == '-' ? "-" : literal(b));
                    }
                    re.append(']');
                    i = close;
                }
                default -> re.append(literal(c));
            }
        }
        return new Glob(pattern, Pattern.compile(re.toString(), Pattern.DOTALL));
    }

    /** Backslash before every non-alphanumeric character is always a literal in java.util.regex. */
    private static String literal(char c) {
        return Character.isLetterOrDigit(c) ? String.valueOf(c) : "\\" + c;
    }

    /** Whether the whole repository path matches. */
    public boolean matches(String path) {
        return regex.matcher(path).matches();
    }

    @Override
    public String toString() {
        return text;
    }
}
