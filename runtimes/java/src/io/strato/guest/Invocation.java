package io.strato.guest;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/** One `invoke` frame in progress (or the initializer, with an empty request id). */
final class Invocation {
    private static final InheritableThreadLocal<Invocation> CURRENT = new InheritableThreadLocal<>();

    final long id;
    final String requestId;
    final long deadline;
    final String alias;
    final String invokeType;
    final Map<String, String> headers;
    /** Output bytes of this invocation so far, for the per-invocation cap (guarded by Output). */
    long logBytes;
    boolean logCapped;

    Invocation(long id, String requestId, long deadline, String alias, String invokeType, Map<String, String> headers) {
        this.id = id;
        this.requestId = requestId;
        this.deadline = deadline;
        this.alias = alias;
        this.invokeType = invokeType;
        this.headers = headers;
    }

    static Invocation fromFrame(JsonObject h) {
        Map<String, String> headers = new HashMap<>();
        JsonElement hs = h.get("headers");
        if (hs != null && hs.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : hs.getAsJsonObject().entrySet()) {
                if (e.getValue().isJsonPrimitive()) {
                    headers.put(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue().getAsString());
                }
            }
        }
        return new Invocation(
                h.get("id").getAsLong(),
                str(h, "requestId"),
                h.has("deadline") ? h.get("deadline").getAsLong() : 0,
                str(h, "alias"),
                h.has("invokeType") ? str(h, "invokeType") : "sync",
                Collections.unmodifiableMap(headers));
    }

    static Invocation initializer() {
        long timeoutMs = Guest.envLong("RUNTIME_INITIALIZER_TIMEOUT", 3) * 1000;
        return new Invocation(-1, "", System.currentTimeMillis() + timeoutMs, "", "sync", Collections.emptyMap());
    }

    private static String str(JsonObject h, String key) {
        JsonElement v = h.get(key);
        return v == null || v.isJsonNull() ? "" : v.getAsString();
    }

    static Invocation current() {
        return CURRENT.get();
    }

    static void enter(Invocation inv) {
        CURRENT.set(inv);
    }

    static void leave() {
        CURRENT.remove();
    }
}
