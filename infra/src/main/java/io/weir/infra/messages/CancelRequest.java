package io.weir.infra.messages;

/**
 * Asks the workers to stop generating for a request, on the cancel topic ({@code weir.control.cancels}),
 * keyed by request id. Every worker reads every cancel (a request may be on any of them): the engine
 * serving the request drops it at its next step, freeing its sequence slot; a request still waiting never
 * starts; a cancel that comes before its request is remembered for a while. Either way the request ends
 * with a last event whose {@code finish_reason} is {@code cancelled}. Cancelling a request that has
 * finished, or that no worker knows, does nothing.
 *
 * @param requestId the request to stop
 * @param reason    why, for logs: {@link #CLIENT_GONE}, {@link #TIMEOUT}, {@link #RACE_LOST}, or any text
 */
public record CancelRequest(String requestId, String reason) {
    /** The caller closed its connection before the request ended. */
    public static final String CLIENT_GONE = "client_disconnected";
    /** The caller's deadline passed. */
    public static final String TIMEOUT = "timeout";
    /** Another model answered first in a race (one prompt to many models, first answer wins). */
    public static final String RACE_LOST = "race_lost";
}
