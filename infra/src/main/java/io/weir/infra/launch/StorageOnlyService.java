package io.weir.infra.launch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A service that, for now, only owns its storage directory under the data dir and joins the stack, so
 * deployments and scripts already have their final shape. The file-service and finetune-service start
 * this way until their APIs and topics land.
 */
public abstract class StorageOnlyService implements WeirService {
    private final String name;
    private final String description;
    private final int startOrder;
    private final String storageDir;

    protected StorageOnlyService(String name, String description, int startOrder, String storageDir) {
        this.name = name;
        this.description = description;
        this.startOrder = startOrder;
        this.storageDir = storageDir;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final String description() {
        return description;
    }

    @Override
    public final int startOrder() {
        return startOrder;
    }

    @Override
    public Running start(ServiceContext context) throws Exception {
        Path storage = Files.createDirectories(context.dataDir().resolve(storageDir));
        String line = String.format("%-10s %s (API not implemented yet)", name + ":", storage);
        return new Running() {
            @Override
            public List<String> banner() {
                return List.of(line);
            }

            @Override
            public void close() {
                // Nothing runs yet.
            }
        };
    }
}
