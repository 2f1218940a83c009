package com.huawei.services.runtime.entity.dms;

import com.google.gson.GsonBuilder;
import com.google.gson.annotations.SerializedName;

/** One topic's messages in a DMS (Kafka, RocketMQ) trigger event. */
public class DMSRecord {
    private String[] messages;
    @SerializedName("topic_id")
    private String topicId;
    @SerializedName("instance_id")
    private String instanceId;

    public String[] getMessages() {
        return messages;
    }

    public void setMessages(String[] messages) {
        this.messages = messages;
    }

    public String getTopicId() {
        return topicId;
    }

    public void setTopicId(String topicId) {
        this.topicId = topicId;
    }

    public String getInstanceId() {
        return instanceId;
    }

    public void setInstanceId(String instanceId) {
        this.instanceId = instanceId;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
