package com.opentelekomcloud.services.functiongraph.runtime.core;

import com.opentelekomcloud.services.runtime.Context;

/**
 * A {@link RequestHandler} whose event is one of the trigger event classes.
 *
 * @param <I> the trigger event type
 * @param <O> the result type
 */
public interface EventRequestHandler<I extends TriggerEvent, O> extends RequestHandler<I, O> {
    @Override
    O handleRequest(I input, Context context);
}
