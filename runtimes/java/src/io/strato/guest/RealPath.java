package io.strato.guest;

/** Prints the real path of the running `java` launcher: Strato's probe of the interpreter. */
public final class RealPath {
    private RealPath() {
    }

    public static void main(String[] args) throws Exception {
        String command = ProcessHandle.current().info().command().orElseThrow();
        System.out.println(new java.io.File(command).toPath().toRealPath());
    }
}
