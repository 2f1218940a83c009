package com.huawei.services.runtime.entity.dis;

import com.google.gson.GsonBuilder;
import com.google.gson.annotations.SerializedName;

/** A DIS trigger event. */
public class DISTriggerEvent {
    @SerializedName("ShardID")
    private String shardId;
    @SerializedName("Message")
    private DISMessage message;
    @SerializedName("Tag")
    private String tag;
    @SerializedName("StreamName")
    private String streamName;

    public String getShardId() {
        return shardId;
    }

    public void setShardId(String shardId) {
        this.shardId = shardId;
    }

    public DISMessage getMessage() {
        return message;
    }

    public void setMessage(DISMessage message) {
        this.message = message;
    }

    public String getTag() {
        return tag;
    }

    public void setTag(String tag) {
        this.tag = tag;
    }

    public String getStreamName() {
        return streamName;
    }

    public void setStreamName(String streamName) {
        this.streamName = streamName;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
