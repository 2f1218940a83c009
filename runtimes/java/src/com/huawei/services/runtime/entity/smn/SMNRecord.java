package com.huawei.services.runtime.entity.smn;

import com.google.gson.GsonBuilder;
import com.google.gson.annotations.SerializedName;

/** One SMN notification delivered to the function. */
public class SMNRecord {
    @SerializedName("event_version")
    private String eventVersion;
    private SMNBody smn;
    @SerializedName("event_subscription_urn")
    private String eventSubscriptionUrn;
    @SerializedName("event_source")
    private String eventSource;

    public String getEventVersion() {
        return eventVersion;
    }

    public void setEventVersion(String eventVersion) {
        this.eventVersion = eventVersion;
    }

    public SMNBody getSmn() {
        return smn;
    }

    public void setSmn(SMNBody smn) {
        this.smn = smn;
    }

    public String getEventSubscriptionUrn() {
        return eventSubscriptionUrn;
    }

    public void setEventSubscriptionUrn(String eventSubscriptionUrn) {
        this.eventSubscriptionUrn = eventSubscriptionUrn;
    }

    public String getEventSource() {
        return eventSource;
    }

    public void setEventSource(String eventSource) {
        this.eventSource = eventSource;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
