package org.saferebuild.engine;

import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.ResultBody;

/** One engine operation: one request type, one named runbook step. */
@FunctionalInterface
public interface Handler<R extends Request> {
    ResultBody handle(R request, OpContext context) throws Exception;
}
