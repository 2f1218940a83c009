package com.huawei.services.runtime.entity.cts;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.annotations.SerializedName;

/** One CTS trace. */
public class CTS {
    private long time;
    private CTSUser user;
    private JsonObject request;
    private JsonObject response;
    private int code;
    @SerializedName("service_type")
    private String serviceType;
    @SerializedName("resource_type")
    private String resourceType;
    @SerializedName("resource_name")
    private String resourceName;
    @SerializedName("resource_id")
    private String resourceId;
    @SerializedName("trace_name")
    private String traceName;
    @SerializedName("trace_type")
    private String traceType;
    @SerializedName("record_time")
    private long recordTime;
    @SerializedName("trace_id")
    private String traceId;
    @SerializedName("trace_status")
    private String traceStatus;

    public long getTime() {
        return time;
    }

    public void setTime(long time) {
        this.time = time;
    }

    public CTSUser getUser() {
        return user;
    }

    public void setUser(CTSUser user) {
        this.user = user;
    }

    public JsonObject getRequest() {
        return request;
    }

    public void setRequest(JsonObject request) {
        this.request = request;
    }

    public JsonObject getResponse() {
        return response;
    }

    public void setResponse(JsonObject response) {
        this.response = response;
    }

    public int getCode() {
        return code;
    }

    public void setCode(int code) {
        this.code = code;
    }

    public String getServiceType() {
        return serviceType;
    }

    public void setServiceType(String serviceType) {
        this.serviceType = serviceType;
    }

    public String getResourceType() {
        return resourceType;
    }

    public void setResourceType(String resourceType) {
        this.resourceType = resourceType;
    }

    public String getResourceName() {
        return resourceName;
    }

    public void setResourceName(String resourceName) {
        this.resourceName = resourceName;
    }

    public String getResourceId() {
        return resourceId;
    }

    public void setResourceId(String resourceId) {
        this.resourceId = resourceId;
    }

    public String getTraceName() {
        return traceName;
    }

    public void setTraceName(String traceName) {
        this.traceName = traceName;
    }

    public String getTraceType() {
        return traceType;
    }

    public void setTraceType(String traceType) {
        this.traceType = traceType;
    }

    public long getRecordTime() {
        return recordTime;
    }

    public void setRecordTime(long recordTime) {
        this.recordTime = recordTime;
    }

    public String getTraceId() {
        return traceId;
    }

    public void setTraceId(String traceId) {
        this.traceId = traceId;
    }

    public String getTraceStatus() {
        return traceStatus;
    }

    public void setTraceStatus(String traceStatus) {
        this.traceStatus = traceStatus;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
