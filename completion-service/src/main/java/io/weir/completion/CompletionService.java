package io.weir.completion;

import io.weir.infra.launch.ServiceContext;
import io.weir.infra.launch.WeirService;
import io.weir.registry.FleetAssignments;
import io.weir.registry.ModelRegistry;

/** The completion-service: routes requests from the public topic to the workers of each model. */
public final class CompletionService implements WeirService {
    @Override
    public String name() {
        return "completion";
    }

    @Override
    public String description() {
        return "routes completion requests to the workers serving each model";
    }

    @Override
    public int startOrder() {
        return 30;
    }

    @Override
    public Running start(ServiceContext context) {
        RequestDispatcher dispatcher = new RequestDispatcher(context.kafka(), new ModelRegistry(context.hazelcast()),
                new FleetAssignments(context.hazelcast()), context.instanceId());
        return dispatcher::close;
    }
}
