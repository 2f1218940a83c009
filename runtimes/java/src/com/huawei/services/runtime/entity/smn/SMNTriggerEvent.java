package com.huawei.services.runtime.entity.smn;

import com.google.gson.GsonBuilder;
import com.google.gson.annotations.SerializedName;

/** An SMN trigger event. */
public class SMNTriggerEvent {
    private SMNRecord[] record;
    @SerializedName("functionname")
    private String functionName;
    private String requestId;
    private String timestamp;

    public SMNRecord[] getRecord() {
        return record;
    }

    public void setRecord(SMNRecord[] record) {
        this.record = record;
    }

    public String getFunctionName() {
        return functionName;
    }

    public void setFunctionName(String functionName) {
        this.functionName = functionName;
    }

    public String getRequestId() {
        return requestId;
    }

    public void setRequestId(String requestId) {
        this.requestId = requestId;
    }

    public String getTimestamp() {
        return timestamp;
    }

    public void setTimestamp(String timestamp) {
        this.timestamp = timestamp;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
