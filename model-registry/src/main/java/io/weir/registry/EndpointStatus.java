package io.weir.registry;

/** Model endpoint status, with exactly the values the llmengine client knows. */
public enum EndpointStatus {
    READY, UPDATE_PENDING, UPDATE_IN_PROGRESS, UPDATE_FAILED, DELETE_IN_PROGRESS
}
