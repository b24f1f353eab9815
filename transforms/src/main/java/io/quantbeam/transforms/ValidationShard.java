package io.quantbeam.transforms;

import io.quantbeam.core.validate.LabeledBatch;
import java.io.Serializable;
import java.util.List;

/**
 * One shard of the validation set: its tokenized, labeled batches; once the FP32 model ran on it,
 * the batches carry the FP32 outputs and {@code classes} is the FP32 output's logit count (0 for
 * an output that is not logits; -1 before the run).
 */
public record ValidationShard(int id, List<LabeledBatch> batches, int classes)
    implements Serializable {
  public ValidationShard {
    batches = List.copyOf(batches);
  }

  public long examples() {
    return batches.stream().mapToLong(LabeledBatch::size).sum();
  }
}
