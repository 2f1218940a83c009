package com.huawei.services.runtime.entity.apig;

import com.google.gson.Gson;

/** The gateway's view of an API request: which API, stage and caller. */
public class APIGRequestContext {
    private String apiId;
    private String requestId;
    private String stage;
    private String sourceIp;

    public String getApiId() {
        return apiId;
    }

    public void setApiId(String apiId) {
        this.apiId = apiId;
    }

    public String getRequestId() {
        return requestId;
    }

    public void setRequestId(String requestId) {
        this.requestId = requestId;
    }

    public String getStage() {
        return stage;
    }

    public void setStage(String stage) {
        this.stage = stage;
    }

    public String getSourceIp() {
        return sourceIp;
    }

    public void setSourceIp(String sourceIp) {
        this.sourceIp = sourceIp;
    }

    @Override
    public String toString() {
        return new Gson().toJson(this);
    }
}
