package com.huawei.services.runtime.entity.dis;

import com.google.gson.GsonBuilder;
import com.google.gson.annotations.SerializedName;
import java.io.UnsupportedEncodingException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** One DIS record (base64 data). */
public class DISRecord {
    @SerializedName("partition_key")
    private String partitionKey;
    private String data;
    @SerializedName("sequence_number")
    private String sequenceNumber;
    private long timestamp;
    @SerializedName("timestamp_type")
    private String timestampType;

    public String getPartitionKey() {
        return partitionKey;
    }

    public void setPartitionKey(String partitionKey) {
        this.partitionKey = partitionKey;
    }

    public String getData() {
        return data;
    }

    public void setData(String data) {
        this.data = data;
    }

    public String getSequenceNumber() {
        return sequenceNumber;
    }

    public void setSequenceNumber(String sequenceNumber) {
        this.sequenceNumber = sequenceNumber;
    }

    public long getTimestamp() {
        return timestamp;
    }

    public void setTimestamp(long timestamp) {
        this.timestamp = timestamp;
    }

    public String getTimestampType() {
        return timestampType;
    }

    public void setTimestampType(String timestampType) {
        this.timestampType = timestampType;
    }

    /**
     * The record decoded from base64 (UTF-8).
     *
     * @throws UnsupportedEncodingException never (kept for FunctionGraph's signature)
     */
    public String getRawData() throws UnsupportedEncodingException {
        return data == null ? null : new String(Base64.getMimeDecoder().decode(data), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
