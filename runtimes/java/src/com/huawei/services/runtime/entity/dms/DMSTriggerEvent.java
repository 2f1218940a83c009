package com.huawei.services.runtime.entity.dms;

import com.google.gson.GsonBuilder;
import com.google.gson.annotations.SerializedName;

/** A DMS for Kafka / RocketMQ trigger event: messages per topic. */
public class DMSTriggerEvent {
    @SerializedName("event_version")
    private String eventVersion;
    @SerializedName("event_time")
    private long eventTime;
    @SerializedName("trigger_type")
    private String triggerType;
    private String region;
    @SerializedName("instance_id")
    private String instanceId;
    private DMSRecord[] records;

    public String getEventVersion() {
        return eventVersion;
    }

    public void setEventVersion(String eventVersion) {
        this.eventVersion = eventVersion;
    }

    public long getEventTime() {
        return eventTime;
    }

    public void setEventTime(long eventTime) {
        this.eventTime = eventTime;
    }

    public String getTriggerType() {
        return triggerType;
    }

    public void setTriggerType(String triggerType) {
        this.triggerType = triggerType;
    }

    public String getRegion() {
        return region;
    }

    public void setRegion(String region) {
        this.region = region;
    }

    public String getInstanceId() {
        return instanceId;
    }

    public void setInstanceId(String instanceId) {
        this.instanceId = instanceId;
    }

    public DMSRecord[] getRecords() {
        return records;
    }

    public void setRecords(DMSRecord[] records) {
        this.records = records;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
