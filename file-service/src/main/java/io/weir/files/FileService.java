package io.weir.files;

import io.weir.infra.launch.ServiceContext;
import io.weir.infra.launch.WeirService;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The file-service. Thin for now: it owns its storage directory under the data dir and joins the stack, so
 * deployments and scripts have their final shape; its API and Kafka topics come with their own issue.
 */
public final class FileService implements WeirService {
    @Override
    public String name() {
        return "files";
    }

    @Override
    public String description() {
        return "stores uploaded files (the Files API arrives with its own issue)";
    }

    @Override
    public int startOrder() {
        return 40;
    }

    @Override
    public Running start(ServiceContext context) throws Exception {
        Path storage = Files.createDirectories(context.dataDir().resolve("files"));
        return new Running() {
            @Override
            public List<String> banner() {
                return List.of("File:" + " ".repeat(Math.max(1, 10 - "File".length())) + "storage " + storage + " (API not implemented yet)");
            }

            @Override
            public void close() {
                // Nothing running yet.
            }
        };
    }
}
