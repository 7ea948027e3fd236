package dev.vidya.neo4jdev;

import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.time.Duration;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

/**
 * Minimal Neo4j Community launcher for tests and local development.
 *
 * <p>Bolt only, bound to 127.0.0.1, authentication disabled, HTTP(S) disabled. Prints exactly one
 * line {@code NEO4J-DEV READY bolt://127.0.0.1:<port>} on stdout once Bolt accepts connections,
 * and shuts down cleanly (exit code 0) on SIGTERM / SIGINT.
 *
 * <p>Exit codes: 0 clean shutdown, 1 startup failure, 2 bad arguments, 3 port already in use.
 */
public final class Main {
    private static final String HOST = "127.0.0.1";
    private static final int EXIT_STARTUP_FAILED = 1;
    private static final int EXIT_USAGE = 2;
    private static final int EXIT_PORT_IN_USE = 3;

    private static final String USAGE =
            "usage: neo4j-dev [--port N] [--data-dir DIR] [--page-cache-mb N] [--ready-timeout-s N]\n"
                    + "  --port N           Bolt port on 127.0.0.1 (default 7687)\n"
                    + "  --data-dir DIR     Neo4j home (data/, logs/); default: fresh temp dir, deleted on exit\n"
                    + "  --page-cache-mb N  page cache size in MiB (default 128)\n"
                    + "  --ready-timeout-s N  max seconds to wait for the default database (default 120)\n";

    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final AtomicBoolean stopped = new AtomicBoolean(false);
    private volatile DatabaseManagementService dbms;
    private volatile Path tempHome;

    private Main() {}

    private static final class Options {
        int port = 7687;
        Path dataDir = null;
        long pageCacheMb = 128;
        long readyTimeoutS = 120;
    }

    public static void main(String[] args) {
        Options opts;
        try {
            opts = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("neo4j-dev: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(EXIT_USAGE);
            return;
        }
        if (opts == null) {
            System.out.print(USAGE);
            return;
        }
        System.exit(new Main().run(opts));
    }

    private static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "-h":
                case "--help":
                    return null;
                case "--port":
                    o.port = parseInt(a, value != null ? value : next(args, ++i, a), 1, 65535);
                    break;
                case "--data-dir":
                    o.dataDir = Path.of(value != null ? value : next(args, ++i, a));
                    break;
                case "--page-cache-mb":
                    o.pageCacheMb = parseInt(a, value != null ? value : next(args, ++i, a), 8, 1 << 20);
                    break;
                case "--ready-timeout-s":
                    o.readyTimeoutS = parseInt(a, value != null ? value : next(args, ++i, a), 1, 86400);
                    break;
                default:
                    throw new IllegalArgumentException("unknown argument: " + args[i]);
            }
        }
        return o;
    }

    private static String next(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

    private static int parseInt(String flag, String v, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + ": not an integer: " + v);
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(flag + ": must be in " + min + ".." + max + ", got " + n);
        }
        return n;
    }

    private int run(Options opts) {
        PrintStream out = System.out;
        PrintStream err = System.err;

        if (!portFree(opts.port)) {
            err.println("neo4j-dev: port " + opts.port + " already in use on " + HOST);
            return EXIT_PORT_IN_USE;
        }

        Path home;
        try {
            if (opts.dataDir != null) {
                home = opts.dataDir.toAbsolutePath().normalize();
                Files.createDirectories(home);
            } else {
                home = Files.createTempDirectory("neo4j-dev-");
                tempHome = home;
            }
        } catch (IOException e) {
            err.println("neo4j-dev: cannot create data dir: " + e);
            return EXIT_STARTUP_FAILED;
        }

        // Fallback for paths where our signal handlers are not installed (or System.exit elsewhere).
        Runtime.getRuntime().addShutdownHook(new Thread(this::shutdown, "neo4j-dev-shutdown"));
        installSignalHandlers();

        try {
            dbms = new DatabaseManagementServiceBuilder(home)
                    .setConfig(BoltConnector.enabled, true)
                    .setConfig(BoltConnector.listen_address, new SocketAddress(HOST, opts.port))
                    .setConfig(BoltConnector.advertised_address, new SocketAddress(HOST, opts.port))
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                    .setConfig(HttpConnector.enabled, false)
                    .setConfig(HttpsConnector.enabled, false)
                    .setConfig(GraphDatabaseSettings.auth_enabled, false)
                    .setConfig(GraphDatabaseSettings.udc_enabled, false)
                    .setConfig(GraphDatabaseSettings.pagecache_memory, opts.pageCacheMb * 1024L * 1024L)
                    .setConfig(GraphDatabaseSettings.keep_logical_logs, "1 files")
                    .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, 16L * 1024L * 1024L)
                    .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                    // Defaults make shutdown take >10 s (netty quiet period 5 s, twice; 10 s wait for
                    // open transactions; up to 5 min for client connections). Stop fast instead.
                    .setConfig(GraphDatabaseSettings.shutdown_transaction_end_timeout, Duration.ofSeconds(2))
                    .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                    .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(5))
                    .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(5))
                    .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(5))
                    .build();

            GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(opts.readyTimeoutS);
            while (!db.isAvailable(500)) {
                if (stopRequested.getCount() == 0) {
                    shutdown();
                    return 0;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(
                            "default database not available after " + opts.readyTimeoutS + "s");
                }
            }
            while (!boltAccepting(opts.port)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Bolt not accepting connections on port " + opts.port);
                }
                Thread.sleep(100);
            }
        } catch (Throwable t) {
            if (isBindFailure(t)) {
                err.println("neo4j-dev: port " + opts.port + " already in use on " + HOST);
                shutdown();
                return EXIT_PORT_IN_USE;
            }
            t.printStackTrace(err);
            // Summary last, so the last line of the log says what went wrong.
            err.println("neo4j-dev: startup failed: " + rootMessage(t));
            shutdown();
            return EXIT_STARTUP_FAILED;
        }

        out.println("NEO4J-DEV READY bolt://" + HOST + ":" + opts.port);
        out.flush();

        try {
            stopRequested.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        shutdown();
        return 0;
    }

    /** Idempotent: stop the DBMS, then remove the temporary home if we created one. */
    private void shutdown() {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        DatabaseManagementService d = dbms;
        if (d != null) {
            try {
                d.shutdown();
            } catch (Throwable t) {
                System.err.println("neo4j-dev: error during shutdown: " + rootMessage(t));
            }
        }
        Path tmp = tempHome;
        if (tmp != null) {
            deleteRecursively(tmp);
        }
    }

    @SuppressWarnings("restriction")
    private void installSignalHandlers() {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> stopRequested.countDown());
            } catch (Throwable t) {
                // Not supported here: default handling runs the shutdown hook instead.
            }
        }
    }

    private static boolean portFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(HOST, port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean boltAccepting(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(HOST, port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isBindFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof BindException) {
                return true;
            }
            String m = c.getMessage();
            if (m != null && (m.contains("Address already in use") || m.contains("already in use"))) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c == t ? String.valueOf(t) : t + " (caused by " + c + ")";
    }

    private static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("neo4j-dev: could not delete temp dir " + root + ": " + e);
        }
    }
}
