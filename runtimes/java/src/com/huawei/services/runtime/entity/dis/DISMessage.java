package com.huawei.services.runtime.entity.dis;

import com.google.gson.GsonBuilder;
import com.google.gson.annotations.SerializedName;

/** The records of a DIS trigger event. */
public class DISMessage {
    @SerializedName("next_partition_cursor")
    private String nextPartitionCursor;
    private DISRecord[] records;
    @SerializedName("millis_behind_latest")
    private String millisBehindLatest;

    public String getNextPartitionCursor() {
        return nextPartitionCursor;
    }

    public void setNextPartitionCursor(String nextPartitionCursor) {
        this.nextPartitionCursor = nextPartitionCursor;
    }

    public DISRecord[] getRecords() {
        return records;
    }

    public void setRecords(DISRecord[] records) {
        this.records = records;
    }

    public String getMillisBehindLatest() {
        return millisBehindLatest;
    }

    public void setMillisBehindLatest(String millisBehindLatest) {
        this.millisBehindLatest = millisBehindLatest;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
