package com.huawei.services.runtime.entity.apig;

import com.google.gson.GsonBuilder;
import com.google.gson.annotations.SerializedName;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/** An HTTP request through an APIG trigger; {@link APIGTriggerResponse} is the answer. */
public class APIGTriggerEvent {
    private boolean isBase64Encoded;
    private String httpMethod;
    private String path;
    private String body;
    private Map<String, String> pathParameters;
    private APIGRequestContext requestContext;
    private Map<String, String> headers;
    private Map<String, String> queryStringParameters;
    @SerializedName("user_data")
    private String userData;

    public boolean isBase64Encoded() {
        return isBase64Encoded;
    }

    public void setBase64Encoded(boolean base64Encoded) {
        this.isBase64Encoded = base64Encoded;
    }

    public String getHttpMethod() {
        return httpMethod;
    }

    public void setHttpMethod(String httpMethod) {
        this.httpMethod = httpMethod;
    }

    public String getPath() {
        return path;
    }

    public void setPath(String path) {
        this.path = path;
    }

    /** The body as sent by the gateway: base64 when {@link #isBase64Encoded()}. */
    public String getBody() {
        return body;
    }

    public void setBody(String body) {
        this.body = body;
    }

    /** The body decoded from base64 when the gateway encoded it, else as it is. */
    public String getRawBody() {
        if (body == null || !isBase64Encoded) {
            return body;
        }
        return new String(Base64.getMimeDecoder().decode(body), StandardCharsets.UTF_8);
    }

    public Map<String, String> getPathParameters() {
        return pathParameters;
    }

    public void setPathParameters(Map<String, String> pathParameters) {
        this.pathParameters = pathParameters;
    }

    public APIGRequestContext getRequestContext() {
        return requestContext;
    }

    public void setRequestContext(APIGRequestContext requestContext) {
        this.requestContext = requestContext;
    }

    public Map<String, String> getHeaders() {
        return headers;
    }

    public void setHeaders(Map<String, String> headers) {
        this.headers = headers;
    }

    public Map<String, String> getQueryStringParameters() {
        return queryStringParameters;
    }

    public void setQueryStringParameters(Map<String, String> queryStringParameters) {
        this.queryStringParameters = queryStringParameters;
    }

    public String getUserData() {
        return userData;
    }

    public void setUserData(String userData) {
        this.userData = userData;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
