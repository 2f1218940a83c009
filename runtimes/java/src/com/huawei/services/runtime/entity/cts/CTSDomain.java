package com.huawei.services.runtime.entity.cts;

import com.google.gson.GsonBuilder;

/** The account of the user a CTS trace names. */
public class CTSDomain {
    private String name;
    private String id;

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public String getId() {
        return id;
    }

    public void setId(String id) {
        this.id = id;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
