package io.strato.guest;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.Permission;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Strato's Java guest runtime: boots as a stem cell, loads one function's handler
 * (`package.Class.method`) from its JAR, ZIP of JARs or classes when specialised, and serves
 * invocations sent by the host over the control socket on fd 3 (length-prefixed frames, see
 * src/runtime/protocol.ts and runtimes/README.md). Invocations run on their own threads, as many
 * at once as the host sends.
 */
public final class Guest {
    private static final int MAX_ERROR_MESSAGE_CHARS = 16384;
    private static final int MAX_STACK_LINES = 50;
    /** The function's environment: the process's own plus what `specialise` brought. */
    private static final Map<String, String> ENV = new ConcurrentHashMap<>(System.getenv());
    static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private static FileChannel control;
    private static final Object SEND_LOCK = new Object();
    private static final Set<Invocation> IN_FLIGHT = ConcurrentHashMap.newKeySet();
    private static long maxResultBytes = 6291456;
    private static Target handler;
    private static String codeRoot = "";

    private Guest() {
    }

    static String env(String name) {
        String v = ENV.get(name);
        return v == null ? "" : v;
    }

    static long envLong(String name, long fallback) {
        try {
            String v = ENV.get(name);
            return v == null || v.isEmpty() ? fallback : Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    public static void main(String[] args) throws Exception {
        catchExits();
        PrintStream captured = new PrintStream(new Output.Stream(), true, StandardCharsets.UTF_8);
        System.setOut(captured);
        System.setErr(captured);
        DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(new FileInputStream(fd(3)), 65536));
        control = new FileOutputStream(fd(3)).getChannel();
        warmUp();
        send(header("cell"), null);
        for (;;) {
            Frame frame = read(in);
            String t = frame.header.has("t") ? frame.header.get("t").getAsString() : "";
            if (t.equals("specialise")) {
                specialise(frame.header);
                break;
            }
        }
        if (!load()) {
            for (;;) {
                read(in); // the host stops this instance; nothing more to serve
            }
        }
        ExecutorService workers = Executors.newCachedThreadPool(new WorkerThreads());
        for (;;) {
            Frame frame = read(in);
            if (frame.header.has("t") && frame.header.get("t").getAsString().equals("invoke")) {
                workers.execute(() -> invoke(frame.header, frame.payload));
            }
        }
    }

    // ---- the control socket ---------------------------------------------------------------

    /**
     * The JDK opens no descriptor it did not open itself; the inherited socket on fd 3 becomes a
     * FileDescriptor through its private field (the jar's manifest opens java.io to us).
     */
    private static FileDescriptor fd(int n) throws ReflectiveOperationException {
        FileDescriptor d = new FileDescriptor();
        Field f = FileDescriptor.class.getDeclaredField("fd");
        f.setAccessible(true);
        f.setInt(d, n);
        return d;
    }

    private static final class Frame {
        final JsonObject header;
        final byte[] payload;

        Frame(JsonObject header, byte[] payload) {
            this.header = header;
            this.payload = payload;
        }
    }

    private static Frame read(DataInputStream in) throws IOException {
        try {
            int hLen = in.readInt();
            int pLen = in.readInt();
            byte[] h = new byte[hLen];
            in.readFully(h);
            byte[] p = new byte[pLen];
            in.readFully(p);
            return new Frame(JsonParser.parseString(new String(h, StandardCharsets.UTF_8)).getAsJsonObject(), p);
        } catch (EOFException e) {
            Runtime.getRuntime().halt(0); // the host closed the socket: Strato stopped or dropped us
            throw e;
        }
    }

    private static JsonObject header(String t) {
        JsonObject h = new JsonObject();
        h.addProperty("t", t);
        return h;
    }

    /** One frame; `out` is taken under the lock, after every byte it counts was written. */
    static void send(JsonObject header, byte[] payload) {
        synchronized (SEND_LOCK) {
            header.addProperty("out", Output.total());
            byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
            int pLen = payload == null ? 0 : payload.length;
            ByteBuffer prefix = ByteBuffer.allocate(8).putInt(h.length).putInt(pLen);
            prefix.flip();
            ByteBuffer[] parts = pLen == 0
                    ? new ByteBuffer[] {prefix, ByteBuffer.wrap(h)}
                    : new ByteBuffer[] {prefix, ByteBuffer.wrap(h), ByteBuffer.wrap(payload)};
            try {
                long left = 8L + h.length + pLen;
                while (left > 0) {
                    left -= control.write(parts);
                }
            } catch (IOException e) {
                Runtime.getRuntime().halt(0);
            }
        }
    }

    // ---- the stem cell ----------------------------------------------------------------------

    /** What every function needs loads while the cell waits, not on its cold start. */
    private static void warmUp() {
        String sample = "{\"isBase64Encoded\":true,\"httpMethod\":\"GET\",\"path\":\"/\",\"body\":\"e30=\","
                + "\"headers\":{\"a\":\"b\"},\"queryStringParameters\":{},\"pathParameters\":{},"
                + "\"requestContext\":{\"apiId\":\"x\"},\"user_data\":\"\"}";
        JsonElement e = JsonParser.parseString(sample);
        Object event = GSON.fromJson(e, com.huawei.services.runtime.entity.apig.APIGTriggerEvent.class);
        GSON.toJson(new com.huawei.services.runtime.entity.apig.APIGTriggerResponse(200, Map.of("a", "b"), "x"));
        GSON.toJson(GSON.fromJson(e, Map.class));
        GSON.fromJson(e, JsonObject.class);
        FunctionContext.create(com.huawei.services.runtime.Context.class, Invocation.initializer()).toString();
        FunctionContext.create(com.opentelekomcloud.services.runtime.Context.class, Invocation.initializer()).toString();
        if (event.toString().isEmpty()) {
            throw new IllegalStateException();
        }
    }

    /**
     * The function's environment arrives in one frame. Java cannot change its own environment, so
     * the JDK's copy is updated in place: System.getenv and child processes see the function's
     * variables, as in FunctionGraph.
     */
    private static void specialise(JsonObject h) {
        Map<String, String> vars = new HashMap<>();
        if (h.has("env") && h.get("env").isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : h.getAsJsonObject("env").entrySet()) {
                vars.put(e.getKey(), e.getValue().getAsString());
            }
        }
        ENV.putAll(vars);
        exportEnvironment(vars);
        codeRoot = env("RUNTIME_CODE_ROOT");
        maxResultBytes = envLong("RUNTIME_MAX_RESP_BODY_SIZE", 6291456);
        if (!env("TMPDIR").isEmpty()) {
            System.setProperty("java.io.tmpdir", env("TMPDIR"));
        }
        if (!env("HOME").isEmpty()) {
            System.setProperty("user.home", env("HOME"));
        }
        FunctionContext.configure();
    }

    @SuppressWarnings("unchecked")
    private static void exportEnvironment(Map<String, String> vars) {
        try {
            Map<String, String> unmodifiable = System.getenv();
            Field m = unmodifiable.getClass().getDeclaredField("m");
            m.setAccessible(true);
            ((Map<String, String>) m.get(unmodifiable)).putAll(vars);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("strato: the function's variables are not in System.getenv(): " + e);
        }
    }

    // ---- loading the handler ------------------------------------------------------------------

    /** A resolved `package.Class.method`: the method, the object it is called on, its types. */
    private static final class Target {
        final Method method;
        final Object receiver;
        /** The event's declared type, or null for a method that takes only the Context. */
        final Type eventType;
        /** The Context interface the method declares, or null for one that takes none. */
        final Class<?> contextType;

        Target(Method method, Object receiver, Type eventType, Class<?> contextType) {
            this.method = method;
            this.receiver = receiver;
            this.eventType = eventType;
            this.contextType = contextType;
        }
    }

    static final class GuestError extends Exception {
        final String type;

        GuestError(String type, String message) {
            super(message);
            this.type = type;
        }
    }

    private static URLClassLoader functionLoader;
    private static final Map<Class<?>, Object> RECEIVERS = new HashMap<>();

    /** The code root, its JARs (the root's first, then deeper ones, by name), then dependencies. */
    private static URLClassLoader classLoader() throws IOException {
        List<URL> urls = new ArrayList<>();
        List<String> roots = new ArrayList<>();
        roots.add(codeRoot);
        for (String d : env("STRATO_JAVA_CLASSPATH").split(":")) {
            if (!d.isEmpty()) {
                roots.add(d);
            }
        }
        for (String root : roots) {
            Path dir = Paths.get(root);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            urls.add(dir.toUri().toURL());
            List<Path> jars;
            try (Stream<Path> walk = Files.walk(dir, 8)) {
                jars = walk.filter(p -> p.toString().toLowerCase(java.util.Locale.ROOT).endsWith(".jar")
                        && Files.isRegularFile(p))
                        .sorted((a, b) -> a.getNameCount() != b.getNameCount()
                                ? Integer.compare(a.getNameCount(), b.getNameCount())
                                : a.compareTo(b))
                        .collect(Collectors.toList());
            }
            for (Path jar : jars) {
                urls.add(jar.toUri().toURL());
            }
        }
        return new URLClassLoader("function", urls.toArray(new URL[0]), Guest.class.getClassLoader());
    }

    private static boolean isContext(Class<?> c) {
        return c == com.huawei.services.runtime.Context.class
                || c == com.opentelekomcloud.services.runtime.Context.class;
    }

    private static Target resolve(String spec, String what, boolean takesEvent) throws Throwable {
        int dot = spec.lastIndexOf('.');
        if (dot <= 0 || dot == spec.length() - 1) {
            throw new GuestError("HandlerNotFound", "The " + what + " '" + spec
                    + "' is not of the form package.Class.method.");
        }
        String className = spec.substring(0, dot);
        String methodName = spec.substring(dot + 1);
        Class<?> cls;
        try {
            cls = Class.forName(className, true, functionLoader);
        } catch (ClassNotFoundException | NoClassDefFoundError e) {
            throw new GuestError("ImportModuleError", "Cannot find class '" + className + "' for the " + what
                    + " '" + spec + "' in " + codeRoot + " (its classes and " + (functionLoader.getURLs().length - 1)
                    + " more classpath entries): " + e.getMessage());
        } catch (ExceptionInInitializerError e) {
            throw e.getCause() == null ? e : e.getCause();
        }
        Method best = null;
        for (Method m : cls.getMethods()) {
            if (!m.getName().equals(methodName) || m.isBridge() || m.isSynthetic()) {
                continue;
            }
            Class<?>[] p = m.getParameterTypes();
            boolean fits = takesEvent
                    ? (p.length == 2 && isContext(p[1])) || p.length == 1 && !isContext(p[0])
                    : p.length == 1 && isContext(p[0]) || p.length == 0;
            if (fits && (best == null || p.length > best.getParameterCount())) {
                best = m;
            }
        }
        if (best == null) {
            throw new GuestError("HandlerNotFound", "The " + what + " '" + spec + "' is not a public method of "
                    + className + " taking " + (takesEvent ? "(event, Context)" : "(Context)") + ".");
        }
        Object receiver = null;
        if (!Modifier.isStatic(best.getModifiers())) {
            receiver = RECEIVERS.get(cls);
            if (receiver == null) {
                try {
                    receiver = cls.getDeclaredConstructor().newInstance();
                } catch (NoSuchMethodException e) {
                    throw new GuestError("HandlerNotFound", "The class " + className
                            + " has no public constructor without arguments to call " + methodName + " on.");
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
                RECEIVERS.put(cls, receiver);
            }
        }
        Type[] types = best.getGenericParameterTypes();
        Class<?>[] raw = best.getParameterTypes();
        if (takesEvent) {
            return new Target(best, receiver, types[0], raw.length == 2 ? raw[1] : null);
        }
        return new Target(best, receiver, null, raw.length == 1 ? raw[0] : null);
    }

    /** Loads the handler and runs the initializer; says `ready` or `init-error`. */
    private static boolean load() {
        Invocation init = Invocation.initializer();
        Invocation.enter(init);
        try {
            functionLoader = classLoader();
            Thread.currentThread().setContextClassLoader(functionLoader);
            handler = resolve(env("RUNTIME_HANDLER"), "handler", true);
            String initSpec = env("RUNTIME_INITIALIZER_HANDLER");
            if (!initSpec.isEmpty()) {
                Target initializer = resolve(initSpec, "initializer", false);
                send(header("initializing"), null);
                call(initializer, null, init);
            }
        } catch (Throwable e) {
            JsonObject err = errorJson(e);
            JsonObject h = header("init-error");
            h.addProperty("errorType", err.get("errorType").getAsString());
            h.addProperty("mem", memoryUsedMb());
            send(h, err.toString().getBytes(StandardCharsets.UTF_8));
            return false;
        } finally {
            Invocation.leave();
        }
        send(header("ready"), null);
        return true;
    }

    private static Object call(Target target, Object event, Invocation inv) throws Throwable {
        Object context = target.contextType == null ? null : FunctionContext.create(target.contextType, inv);
        Object[] args = target.eventType == null
                ? (context == null ? new Object[0] : new Object[] {context})
                : (context == null ? new Object[] {event} : new Object[] {event, context});
        try {
            return target.method.invoke(target.receiver, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    // ---- serving ----------------------------------------------------------------------------

    /** The event as the handler's declared type: a String gets the JSON text (a JSON string's value). */
    private static Object eventOf(JsonElement json, Type type) {
        if (type == String.class) {
            return json.isJsonPrimitive() && json.getAsJsonPrimitive().isString() ? json.getAsString() : json.toString();
        }
        return GSON.fromJson(json, type);
    }

    private static void invoke(JsonObject h, byte[] payload) {
        Invocation inv = Invocation.fromFrame(h);
        Invocation.enter(inv);
        IN_FLIGHT.add(inv);
        try {
            JsonElement json;
            try {
                json = payload.length == 0 ? new JsonObject() : JsonParser.parseString(new String(payload, StandardCharsets.UTF_8));
            } catch (RuntimeException | StackOverflowError e) {
                JsonObject r = header("result");
                r.addProperty("id", inv.id);
                r.addProperty("badEvent", true);
                r.addProperty("message", String.valueOf(e.getMessage()));
                send(r, null);
                return;
            }
            JsonObject reply = header("result");
            reply.addProperty("id", inv.id);
            byte[] body;
            try {
                Object result = call(handler, eventOf(json, handler.eventType), inv);
                boolean text = result instanceof String;
                try {
                    body = (text ? (String) result : GSON.toJson(result)).getBytes(StandardCharsets.UTF_8);
                } catch (RuntimeException | StackOverflowError e) {
                    throw new GuestError("ResultSerializationError",
                            "The function result cannot be serialised to JSON: " + e);
                }
                if (body.length > maxResultBytes) {
                    throw new GuestError("ResponseTooLarge",
                            "The function result is " + body.length + " bytes; the limit is " + maxResultBytes + ".");
                }
                reply.addProperty("ok", true);
                reply.addProperty("text", text);
            } catch (Throwable e) {
                JsonObject err = errorJson(e);
                reply.addProperty("ok", false);
                reply.addProperty("errorType", err.get("errorType").getAsString());
                body = err.toString().getBytes(StandardCharsets.UTF_8);
            }
            reply.addProperty("mem", memoryUsedMb());
            send(reply, body);
        } finally {
            IN_FLIGHT.remove(inv);
            Invocation.leave();
        }
    }

    /** FunctionGraph's error JSON: errorMessage, errorType, stackTrace, all bounded. */
    static JsonObject errorJson(Throwable e) {
        String type;
        if (e instanceof GuestError) {
            type = ((GuestError) e).type;
        } else if (e instanceof OutOfMemoryError) {
            type = "OutOfMemoryError";
        } else {
            type = e.getClass().getName();
        }
        String message = String.valueOf(e.getMessage());
        if (message.length() > MAX_ERROR_MESSAGE_CHARS) {
            message = message.substring(0, MAX_ERROR_MESSAGE_CHARS) + "… [truncated]";
        }
        com.google.gson.JsonArray stack = new com.google.gson.JsonArray();
        if (!(e instanceof GuestError)) {
            for (Throwable t = e; t != null && stack.size() < MAX_STACK_LINES; t = t.getCause()) {
                if (t != e) {
                    stack.add("Caused by: " + t);
                }
                for (StackTraceElement frame : t.getStackTrace()) {
                    String cls = frame.getClassName();
                    // Below the function's own frames: the reflective call and this guest.
                    if (stack.size() >= MAX_STACK_LINES || cls.startsWith("io.strato.guest.")
                            || cls.startsWith("jdk.internal.reflect.") || cls.equals("java.lang.reflect.Method")) {
                        break;
                    }
                    stack.add("at " + cls + "." + frame.getMethodName() + "(" + (frame.isNativeMethod() ? "Native Method"
                            : frame.getFileName() == null ? "Unknown Source"
                            : frame.getFileName() + (frame.getLineNumber() >= 0 ? ":" + frame.getLineNumber() : "")) + ")");
                }
                if (t.getCause() == t) {
                    break;
                }
            }
        }
        JsonObject err = new JsonObject();
        err.addProperty("errorMessage", message);
        err.addProperty("errorType", type);
        err.add("stackTrace", stack);
        return err;
    }

    private static double memoryUsedMb() {
        try {
            String[] statm = new String(Files.readAllBytes(Paths.get("/proc/self/statm")), StandardCharsets.US_ASCII)
                    .trim().split(" ");
            return Long.parseLong(statm[1]) * 4096.0 / 1048576.0;
        } catch (IOException | RuntimeException e) {
            Runtime r = Runtime.getRuntime();
            return (r.totalMemory() - r.freeMemory()) / 1048576.0;
        }
    }

    // ---- System.exit ----------------------------------------------------------------------------

    /**
     * `System.exit` during an invocation sends an `exit` frame for it (its code) before the JVM
     * ends: a security manager is the one place Java 17 shows the code. Where the JDK no longer
     * allows one (Java 24+), a shutdown hook reports the exit with code -1.
     */
    @SuppressWarnings("removal")
    private static void catchExits() {
        try {
            System.setSecurityManager(new SecurityManager() {
                @Override
                public void checkPermission(Permission perm) {
                }

                @Override
                public void checkPermission(Permission perm, Object context) {
                }

                @Override
                public void checkExit(int status) {
                    reportExit(status);
                }
            });
        } catch (UnsupportedOperationException | SecurityException e) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> reportExit(-1)));
        }
    }

    private static volatile boolean exitReported;

    private static void reportExit(int code) {
        if (exitReported) {
            return;
        }
        Invocation inv = Invocation.current();
        if (inv == null || inv.id < 0) {
            inv = IN_FLIGHT.stream().findFirst().orElse(null);
        }
        if (inv == null) {
            return;
        }
        exitReported = true;
        JsonObject h = header("exit");
        h.addProperty("id", inv.id);
        h.addProperty("code", code);
        send(h, null);
    }

    /** Invocation threads: daemons, named, with the function's class loader. */
    private static final class WorkerThreads implements java.util.concurrent.ThreadFactory {
        private final AtomicInteger n = new AtomicInteger();

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(r, "fgs-invoke-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setContextClassLoader(functionLoader);
            return t;
        }
    }
}
