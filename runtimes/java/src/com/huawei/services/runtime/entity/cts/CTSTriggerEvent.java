package com.huawei.services.runtime.entity.cts;

import com.google.gson.GsonBuilder;

/** A CTS trigger event. */
public class CTSTriggerEvent {
    private CTS cts;

    public CTS getCts() {
        return cts;
    }

    public void setCts(CTS cts) {
        this.cts = cts;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
