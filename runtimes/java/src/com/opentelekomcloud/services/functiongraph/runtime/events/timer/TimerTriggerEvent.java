package com.opentelekomcloud.services.functiongraph.runtime.events.timer;

import com.google.gson.Gson;
import com.opentelekomcloud.services.functiongraph.runtime.core.TriggerEvent;
import com.google.gson.annotations.SerializedName;

/** A timer trigger's firing. */
public class TimerTriggerEvent implements TriggerEvent {
    private String version;
    private String time;
    @SerializedName("trigger_type")
    private String triggerType;
    @SerializedName("trigger_name")
    private String triggerName;
    @SerializedName("user_event")
    private String userEvent;

    public String getVersion() {
        return version;
    }

    public void setVersion(String version) {
        this.version = version;
    }

    public String getTime() {
        return time;
    }

    public void setTime(String time) {
        this.time = time;
    }

    public String getTriggerType() {
        return triggerType;
    }

    public void setTriggerType(String triggerType) {
        this.triggerType = triggerType;
    }

    public String getTriggerName() {
        return triggerName;
    }

    public void setTriggerName(String triggerName) {
        this.triggerName = triggerName;
    }

    /** The trigger's configured user_event string. */
    public String getUserEvent() {
        return userEvent;
    }

    public void setUserEvent(String userEvent) {
        this.userEvent = userEvent;
    }

    @Override
    public String toString() {
        return new Gson().toJson(this);
    }
}
