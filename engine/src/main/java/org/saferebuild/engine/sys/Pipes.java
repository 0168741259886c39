package org.saferebuild.engine.sys;

import java.io.IOException;

/**
 * Writing to the pipe to the app without ever waiting for it. The engine's events go to the app
 * through its standard output, a pipe; an app that stops reading must never stop the engine
 * (EventSink). A thread that may not block writes through a second, non-blocking description of
 * the same pipe: the kernel takes a frame of at most {@code PIPE_BUF} bytes whole, or refuses it
 * at once when the pipe has no room (EAGAIN), and then the frame is left to the one writer thread
 * that may wait.
 */
public final class Pipes {
    private Pipes() {
    }

    /** Writes to one pipe without waiting. */
    public interface NonBlocking {
        /**
         * Writes all of {@code bytes} now, or nothing: false when they are more than {@code PIPE_BUF}
         * or the pipe has no room for them. Throws when the pipe is broken (the app has gone).
         */
        boolean tryWrite(byte[] bytes) throws IOException;
    }

    /** For the pipe {@code fd}; null when {@code fd} is not a pipe (a socket, a file, a terminal). */
    public static NonBlocking nonBlocking(int fd) {
        int nb = LibC.reopenPipeNonBlocking(fd);
        if (nb < 0) {
            return null;
        }
        return bytes -> {
            if (bytes.length > LibC.PIPE_BUF) {
                return false;
            }
            while (true) {
                long n = LibC.write(nb, bytes, bytes.length);
                if (n == bytes.length) {
                    return true;
                }
                int errno = n < 0 ? LibC.errno() : 0;
                if (errno == LibC.EAGAIN) {
                    return false;
                }
                if (errno != LibC.EINTR) {
                    // A pipe never takes part of a write of at most PIPE_BUF bytes: n is -1 here.
                    throw new IOException(n < 0 ? LibC.strerror(errno) : "the pipe took " + n + " of "
                            + bytes.length + " bytes");
                }
            }
        };
    }
}
