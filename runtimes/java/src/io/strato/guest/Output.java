package io.strato.guest;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;

/**
 * Everything the function prints goes to fd 1 through here, counted: each frame tells the host
 * how many bytes preceded it (`out`), so the host attributes output to invocations exactly. Each
 * invocation's output is capped at STRATO_MAX_LOG_BYTES, with a marker.
 */
final class Output {
    private static final Object LOCK = new Object();
    private static final FileChannel FD1 = new FileOutputStream(FileDescriptor.out).getChannel();
    private static final long MAX_LOG_BYTES = Guest.envLong("STRATO_MAX_LOG_BYTES", 1048576);
    private static long total;

    private Output() {
    }

    /** Bytes written to fd 1 so far. */
    static long total() {
        synchronized (LOCK) {
            return total;
        }
    }

    static void write(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        write(b, 0, b.length);
    }

    static void write(byte[] b, int off, int len) {
        if (len <= 0) {
            return;
        }
        Invocation inv = Invocation.current();
        synchronized (LOCK) {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            if (inv != null) {
                if (inv.logCapped) {
                    return;
                }
                if (inv.logBytes + len > MAX_LOG_BYTES) {
                    inv.logCapped = true;
                    int room = (int) Math.max(0, MAX_LOG_BYTES - inv.logBytes);
                    byte[] marker = ("\n[log truncated: the limit is " + MAX_LOG_BYTES
                            + " bytes per invocation]\n").getBytes(StandardCharsets.UTF_8);
                    byte[] joined = new byte[room + marker.length];
                    System.arraycopy(b, off, joined, 0, room);
                    System.arraycopy(marker, 0, joined, room, marker.length);
                    buf = ByteBuffer.wrap(joined);
                }
                inv.logBytes += buf.remaining();
            }
            total += writeFully(buf);
        }
    }

    /** A non-blocking fd 1 answers EAGAIN as 0 bytes: try again until all is written. */
    private static int writeFully(ByteBuffer buf) {
        int n = buf.remaining();
        try {
            while (buf.hasRemaining()) {
                if (FD1.write(buf) == 0) {
                    Thread.onSpinWait();
                }
            }
        } catch (java.io.IOException e) {
            return n - buf.remaining(); // the host is gone; nothing to tell it
        }
        return n;
    }

    /** The stream System.out and System.err print into. */
    static final class Stream extends OutputStream {
        @Override
        public void write(int b) {
            Output.write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            Output.write(b, off, len);
        }
    }
}
