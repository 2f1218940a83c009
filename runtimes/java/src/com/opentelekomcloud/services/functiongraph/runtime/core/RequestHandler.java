package com.opentelekomcloud.services.functiongraph.runtime.core;

import com.opentelekomcloud.services.runtime.Context;

/**
 * A handler class of Open Telekom Cloud's library: Strato calls {@code handleRequest} as any
 * handler method (handler {@code package.Class.handleRequest}), and {@code initializer} when the
 * function names it as its initializer.
 *
 * @param <I> the event type
 * @param <O> the result type
 */
public interface RequestHandler<I, O> {
    O handleRequest(I input, Context context);

    default void initializer(Context context) {
    }

    default boolean heartbeat() {
        return true;
    }

    default void prestop() {
    }
}
