package io.nashswarm;

/**
 * A problem the user can fix (bad file, bad argument, impossible request). The CLI prints only the
 * message, so it must name the file or value and say what is wrong.
 */
public class EngineException extends RuntimeException {
    public EngineException(String message) {
        super(message);
    }

    public EngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
