package com.huawei.services.runtime.entity.lts;

import com.google.gson.GsonBuilder;

/** An LTS trigger event. */
public class LTSTriggerEvent {
    private LTSBody lts;

    public LTSBody getLts() {
        return lts;
    }

    public void setLts(LTSBody lts) {
        this.lts = lts;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
