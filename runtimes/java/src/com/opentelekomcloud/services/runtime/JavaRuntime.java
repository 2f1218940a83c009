package com.opentelekomcloud.services.runtime;

/**
 * A logger for code that has no Context at hand (the OTC library's helper): it writes to the
 * invocation's output as it is, without time or request ID.
 */
public final class JavaRuntime {
    private static final RuntimeLogger LOGGER = new RuntimeLogger() {
        @Override
        public void log(String message) {
            System.out.print(message);
        }

        @Override
        public void debug(String message) {
            System.out.print(message);
        }

        @Override
        public void info(String message) {
            System.out.print(message);
        }

        @Override
        public void warn(String message) {
            System.out.print(message);
        }

        @Override
        public void error(String message) {
            System.out.print(message);
        }

        @Override
        public void setLevel(String level) {
        }
    };

    private JavaRuntime() {
    }

    public static RuntimeLogger getLogger() {
        return LOGGER;
    }
}
