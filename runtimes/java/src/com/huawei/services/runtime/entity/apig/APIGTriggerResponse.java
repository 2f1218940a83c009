package com.huawei.services.runtime.entity.apig;

import com.google.gson.GsonBuilder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/**
 * The answer to an APIG trigger: the gateway answers with this status, these headers and the body
 * (base64-decoded first when {@code isBase64Encoded}).
 */
public class APIGTriggerResponse {
    private int statusCode;
    private Map<String, String> headers;
    private String body;
    private boolean isBase64Encoded;

    public APIGTriggerResponse() {
        this.statusCode = 200;
        this.body = "";
    }

    public APIGTriggerResponse(int statusCode, Map<String, String> headers, String body) {
        this(statusCode, headers, false, body);
    }

    public APIGTriggerResponse(int statusCode, Map<String, String> headers, boolean isBase64Encoded, String body) {
        this.statusCode = statusCode;
        this.headers = headers;
        this.isBase64Encoded = isBase64Encoded;
        this.body = body;
    }

    public int getStatusCode() {
        return statusCode;
    }

    public void setStatusCode(int statusCode) {
        this.statusCode = statusCode;
    }

    public Map<String, String> getHeaders() {
        return headers;
    }

    public void setHeaders(Map<String, String> headers) {
        this.headers = headers;
    }

    public String getBody() {
        return body;
    }

    public void setBody(String body) {
        this.body = body;
    }

    /** Sets the body to the base64 of {@code body} (UTF-8); set isBase64Encoded too. */
    public void setBase64EncodedBody(String body) {
        this.body = Base64.getEncoder().encodeToString(body.getBytes(StandardCharsets.UTF_8));
    }

    public boolean isBase64Encoded() {
        return isBase64Encoded;
    }

    public void setBase64Encoded(boolean base64Encoded) {
        this.isBase64Encoded = base64Encoded;
    }

    public void addHeader(String key, String value) {
        if (headers == null) {
            headers = new HashMap<>();
        }
        headers.put(key, value);
    }

    public void addHeaders(Map<String, String> toAdd) {
        if (headers == null) {
            headers = new HashMap<>();
        }
        headers.putAll(toAdd);
    }

    public void removeHeader(String key) {
        if (headers != null && key != null) {
            headers.remove(key);
        }
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
