package io.weir.registry;

/**
 * How many workers an endpoint should have, from its settings and what the fleet reports: more when the
 * average concurrent requests per worker exceed per_worker, one fewer once the rest could carry the load
 * (and have, for a while), within min_workers..max_workers. An endpoint with no worker gets one when a
 * request arrives or when its checkpoint has not been loaded yet (so a bad one is reported at once).
 */
record ScalingPolicy(long scaleDownAfterMs) {

    /** What the scheduler knows of one endpoint at one moment. */
    record Observation(int currentWorkers, int totalLoad, boolean recentDemand, boolean needsFirstLoad, long quietForMs) {
    }

    int desiredWorkers(ModelEndpoint e, Observation o) {
        int desired;
        if (o.currentWorkers() == 0) {
            desired = o.recentDemand() || o.needsFirstLoad() ? 1 : 0;
        } else if (o.totalLoad() > o.currentWorkers() * e.perWorker()) {
            desired = o.currentWorkers() + 1;
        } else if (o.quietForMs() >= scaleDownAfterMs) {
            desired = o.currentWorkers() - 1;
        } else {
            desired = o.currentWorkers();
        }
        return Math.max(e.minWorkers(), Math.min(e.maxWorkers(), desired));
    }

    /** True while one worker fewer could not carry the load: that keeps the scale-down clock at zero. */
    static boolean busy(ModelEndpoint e, Observation o) {
        return o.recentDemand() && o.currentWorkers() <= 1 || o.totalLoad() > (o.currentWorkers() - 1) * e.perWorker();
    }
}
