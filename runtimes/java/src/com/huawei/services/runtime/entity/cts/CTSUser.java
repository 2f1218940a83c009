package com.huawei.services.runtime.entity.cts;

import com.google.gson.GsonBuilder;

/** The user a CTS trace names. */
public class CTSUser {
    private String name;
    private String id;
    private CTSDomain domain;

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

    public CTSDomain getDomain() {
        return domain;
    }

    public void setDomain(CTSDomain domain) {
        this.domain = domain;
    }

    @Override
    public String toString() {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(this);
    }
}
