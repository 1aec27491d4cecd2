package io.weir.finetune;

import io.weir.infra.launch.ServiceContext;
import io.weir.infra.launch.WeirService;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The finetune-service. Thin for now: it owns its storage directory under the data dir and joins the stack, so
 * deployments and scripts have their final shape; its API and Kafka topics come with their own issue.
 */
public final class FineTuneService implements WeirService {
    @Override
    public String name() {
        return "finetune";
    }

    @Override
    public String description() {
        return "runs fine-tune jobs (LoRA training arrives with its own issue)";
    }

    @Override
    public int startOrder() {
        return 41;
    }

    @Override
    public Running start(ServiceContext context) throws Exception {
        Path storage = Files.createDirectories(context.dataDir().resolve("fine-tunes"));
        return new Running() {
            @Override
            public List<String> banner() {
                return List.of("FineTune:" + " ".repeat(Math.max(1, 10 - "FineTune".length())) + "storage " + storage + " (API not implemented yet)");
            }

            @Override
            public void close() {
                // Nothing running yet.
            }
        };
    }
}
