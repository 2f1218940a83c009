package com.opentelekomcloud.services.functiongraph.runtime.core;

/** Marks the event classes of FunctionGraph's triggers (Open Telekom Cloud's library). */
public interface TriggerEvent {
}
