package io.strato.guest;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The Context of one invocation, as whichever Context interface the handler declares (Huawei's
 * `com.huawei.services.runtime.Context` or OTC's `com.opentelekomcloud.services.runtime.Context`,
 * which share their methods but not their types): one implementation behind a proxy of each.
 */
final class FunctionContext implements InvocationHandler {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final String[] LEVELS = {"DEBUG", "INFO", "WARN", "ERROR"};
    /** The instance's state (getState/setState), shared by its invocations. */
    private static volatile Object state;
    private static volatile JsonObject userData = new JsonObject();
    private static volatile int defaultLevel = 1;

    private final Invocation inv;
    private final Class<?> loggerType;
    private Object logger;
    private int level = defaultLevel;

    private FunctionContext(Invocation inv, Class<?> loggerType) {
        this.inv = inv;
        this.loggerType = loggerType;
    }

    /** Called once the function's environment is known. */
    static void configure() {
        defaultLevel = levelOf(Guest.env("RUNTIME_LOG_LEVEL"), 1);
        try {
            JsonElement parsed = JsonParser.parseString(Guest.env("RUNTIME_USERDATA").isEmpty() ? "{}" : Guest.env("RUNTIME_USERDATA"));
            userData = parsed.isJsonObject() ? parsed.getAsJsonObject() : new JsonObject();
        } catch (RuntimeException e) {
            userData = new JsonObject();
        }
    }

    /** A Context of the interface `contextType` for `inv`. */
    static Object create(Class<?> contextType, Invocation inv) {
        Class<?> loggerType = Object.class;
        try {
            loggerType = contextType.getMethod("getLogger").getReturnType();
        } catch (NoSuchMethodException e) {
            // a Context without a logger: nothing to proxy
        }
        return Proxy.newProxyInstance(contextType.getClassLoader(), new Class<?>[] {contextType},
                new FunctionContext(inv, loggerType));
    }

    private static int levelOf(String name, int fallback) {
        if (name == null) {
            return fallback;
        }
        String n = name.trim().toUpperCase(Locale.ROOT);
        if (n.equals("WARNING")) {
            n = "WARN";
        }
        for (int i = 0; i < LEVELS.length; i++) {
            if (LEVELS[i].equals(n)) {
                return i;
            }
        }
        return fallback;
    }

    private String header(String name) {
        String v = inv.headers.get(name);
        return v == null ? "" : v;
    }

    private static int envInt(String name) {
        return (int) Guest.envLong(name, 0);
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) {
        switch (method.getName()) {
            case "getRequestID":
            case "getInvokeID":
                return inv.requestId;
            case "getRemainingTimeInMilliSeconds":
                return (int) Math.max(0, inv.deadline - System.currentTimeMillis());
            case "getAccessKey":
                return header("x-cff-access-key");
            case "getSecretKey":
                return header("x-cff-secret-key");
            case "getSecurityAccessKey":
                return header("x-cff-security-access-key");
            case "getSecuritySecretKey":
                return header("x-cff-security-secret-key");
            case "getSecurityToken":
                return header("x-cff-security-token");
            case "getToken":
                return header("x-cff-auth-token");
            case "getUserData": {
                JsonElement v = args == null || args[0] == null ? null : userData.get(String.valueOf(args[0]));
                return v == null || v.isJsonNull() ? null : v.isJsonPrimitive() ? v.getAsString() : v.toString();
            }
            case "getFunctionName":
                return Guest.env("RUNTIME_FUNC_NAME");
            case "getRunningTimeInSeconds":
                return (int) Guest.envLong("RUNTIME_TIMEOUT", 3);
            case "getVersion":
                return Guest.env("RUNTIME_FUNC_VERSION").isEmpty() ? "latest" : Guest.env("RUNTIME_FUNC_VERSION");
            case "getMemorySize":
                return envInt("RUNTIME_MEMORY");
            case "getCPUNumber":
                return envInt("RUNTIME_CPU");
            case "getProjectID":
                return Guest.env("RUNTIME_PROJECT_ID");
            case "getPackage":
                return Guest.env("RUNTIME_PACKAGE");
            case "getLogger":
                return logger();
            case "getState":
                return state;
            case "setState":
                state = args[0];
                return null;
            case "getInstanceID":
                return Guest.env("STRATO_INSTANCE_ID");
            case "getInvokeProperty":
                return header("x-cff-invoke-property");
            case "getTraceID": {
                String t = header("x-cff-trace-id");
                return t.isEmpty() ? inv.requestId : t;
            }
            case "getAlias":
                return inv.alias;
            case "getWorkflowID":
                return header("x-cff-workflow-id");
            case "getWorkflowRunID":
                return header("x-cff-workflow-run-id");
            case "getWorkflowStateID":
                return header("x-cff-workflow-state-id");
            case "toString":
                return "Context[" + inv.requestId + "]";
            case "hashCode":
                return System.identityHashCode(proxy);
            case "equals":
                return proxy == args[0];
            default:
                return defaultOf(method.getReturnType());
        }
    }

    private static Object defaultOf(Class<?> type) {
        if (type == int.class) {
            return 0;
        }
        if (type == long.class) {
            return 0L;
        }
        if (type == boolean.class) {
            return false;
        }
        return type == String.class ? "" : null;
    }

    private synchronized Object logger() {
        if (logger == null && loggerType.isInterface()) {
            logger = Proxy.newProxyInstance(loggerType.getClassLoader(), new Class<?>[] {loggerType},
                    (proxy, method, args) -> logCall(proxy, method, args));
        }
        return logger;
    }

    private Object logCall(Object proxy, Method method, Object[] args) {
        String arg = args == null || args.length == 0 ? null : String.valueOf(args[0]);
        switch (method.getName()) {
            case "log":
            case "info":
                line(1, arg);
                return null;
            case "debug":
                line(0, arg);
                return null;
            case "warn":
                line(2, arg);
                return null;
            case "error":
                line(3, arg);
                return null;
            case "setLevel":
                level = levelOf(arg, level);
                return null;
            case "toString":
                return "RuntimeLogger[" + inv.requestId + "]";
            case "hashCode":
                return System.identityHashCode(proxy);
            case "equals":
                return proxy == args[0];
            default:
                return defaultOf(method.getReturnType());
        }
    }

    private void line(int lineLevel, String message) {
        if (lineLevel < level) {
            return;
        }
        Output.write(TIME.format(java.time.Instant.now()) + " " + inv.requestId + " " + LEVELS[lineLevel] + " "
                + message + "\n");
    }
}
