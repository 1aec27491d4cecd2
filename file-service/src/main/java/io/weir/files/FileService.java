package io.weir.files;

import io.weir.infra.launch.StorageOnlyService;

/** The file-service: will store uploaded files (the Files API). For now it owns its storage directory. */
public final class FileService extends StorageOnlyService {
    public FileService() {
        super("files", "stores uploaded files (the Files API arrives with its own issue)", 40, "files");
    }
}
