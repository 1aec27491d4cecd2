package io.weir.finetune;

import io.weir.infra.launch.StorageOnlyService;

/** The finetune-service: will run LoRA fine-tune jobs. For now it owns its storage directory. */
public final class FineTuneService extends StorageOnlyService {
    public FineTuneService() {
        super("finetune", "runs fine-tune jobs (LoRA training arrives with its own issue)", 41, "fine-tunes");
    }
}
