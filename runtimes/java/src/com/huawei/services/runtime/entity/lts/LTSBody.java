package com.huawei.services.runtime.entity.lts;

import com.google.gson.GsonBuilder;
import java.io.UnsupportedEncodingException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** The base64 log batch of an LTS trigger event. */
public class LTSBody {
    private String data;

    public String getData() {
        return data;
    }

    public void setData(String data) {
        this.data = data;
    }

    /**
     * The log batch (JSON with logs, owner, log_group_id, log_topic_id) decoded from base64 (UTF-8).
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
