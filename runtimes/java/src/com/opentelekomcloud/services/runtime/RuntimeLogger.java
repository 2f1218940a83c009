package com.opentelekomcloud.services.runtime;

/**
 * Writes lines "<time> <request ID> <LEVEL> <message>" to the invocation's log. Lines under the
 * level (RUNTIME_LOG_LEVEL, or {@link #setLevel(String)}; INFO by default) are dropped.
 */
public interface RuntimeLogger {
    /** Logs at INFO. */
    void log(String message);

    void debug(String message);

    void info(String message);

    void warn(String message);

    void error(String message);

    /** DEBUG, INFO, WARN or ERROR (any case); anything else keeps the current level. */
    void setLevel(String level);
}
