package io.weir.registry;

import com.fasterxml.jackson.annotation.JsonIgnore;

import java.time.Instant;

/**
 * What the registry knows of one API key. The key itself is never stored: the map is keyed by its
 * SHA-256, and admins refer to a key by its {@code id}.
 *
 * @param id                    "key_" and random hex; safe to show and log
 * @param tenant                who the key's requests are attributed to
 * @param admin                 may use the admin routes (create, list, revoke keys; read any tenant's usage)
 * @param rateLimitPerMinute    requests per minute (a burst of that many, then refilled evenly); null: no limit
 * @param maxConcurrentRequests completion calls running at once; null: no limit
 * @param revokedAt             when it was revoked; null while it is valid
 */
public record ApiKey(
        String id,
        String tenant,
        boolean admin,
        Integer rateLimitPerMinute,
        Integer maxConcurrentRequests,
        Instant createdAt,
        Instant revokedAt) {

    @JsonIgnore
    public boolean isRevoked() {
        return revokedAt != null;
    }

    ApiKey revoked(Instant when) {
        return isRevoked() ? this : new ApiKey(id, tenant, admin, rateLimitPerMinute, maxConcurrentRequests, createdAt, when);
    }

    ApiKey withRole(String newTenant, boolean newAdmin) {
        return new ApiKey(id, newTenant, newAdmin, rateLimitPerMinute, maxConcurrentRequests, createdAt, revokedAt);
    }
}
