package com.huawei.services.runtime;

/**
 * What a function learns of its invocation and instance (FunctionGraph's Java Context). Strato's
 * guest passes an implementation as the handler's second argument and the initializer's only one.
 */
public interface Context {
    /** The request ID of this invocation (empty in the initializer). */
    String getRequestID();

    /** Milliseconds left before this invocation times out. */
    int getRemainingTimeInMilliSeconds();

    /** @deprecated use {@link #getSecurityAccessKey()}. */
    @Deprecated
    String getAccessKey();

    /** @deprecated use {@link #getSecuritySecretKey()}. */
    @Deprecated
    String getSecretKey();

    String getSecurityAccessKey();

    String getSecuritySecretKey();

    String getSecurityToken();

    String getToken();

    /** The value of one of the function's environment variables (user data), or null. */
    String getUserData(String key);

    String getFunctionName();

    /** The function's timeout in seconds. */
    int getRunningTimeInSeconds();

    String getVersion();

    /** The function's memory size in MB. */
    int getMemorySize();

    /** The function's CPU share in millicores. */
    int getCPUNumber();

    String getProjectID();

    String getPackage();

    /** A logger whose lines carry the time, the request ID and the level. */
    RuntimeLogger getLogger();

    /** The instance's state object (kept across invocations of one instance). */
    Object getState();

    void setState(Object state);

    String getInstanceID();

    String getInvokeProperty();

    String getTraceID();

    String getInvokeID();

    String getAlias();

    String getWorkflowID();

    String getWorkflowRunID();

    String getWorkflowStateID();
}
