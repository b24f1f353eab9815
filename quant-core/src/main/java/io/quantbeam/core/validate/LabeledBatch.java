package io.quantbeam.core.validate;

import io.quantbeam.core.text.EncodedBatch;
import java.io.Serializable;

/**
 * A tokenized batch of validation texts with their labels (-1: none) and, once the FP32 model has
 * run on it, the FP32 output of each example ({@link ModelRunner#run}). Serializable so that it
 * can travel between pipeline steps.
 */
public final class LabeledBatch implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int batchSize;
  private final int seqLen;
  private final long[] inputIds;
  private final long[] attentionMask;
  private final long[] tokenTypeIds;
  private final int[] labels;
  private final float[][] reference;

  public LabeledBatch(EncodedBatch batch, int[] labels, float[][] reference) {
    if (labels.length != batch.batchSize()) {
      throw new IllegalArgumentException(labels.length + " labels for " + batch.batchSize()
          + " texts");
    }
    this.batchSize = batch.batchSize();
    this.seqLen = batch.seqLen();
    this.inputIds = batch.inputIds();
    this.attentionMask = batch.attentionMask();
    this.tokenTypeIds = batch.tokenTypeIds();
    this.labels = labels;
    this.reference = reference;
  }

  public EncodedBatch encoded() {
    long real = 0;
    for (long m : attentionMask) {
      real += m;
    }
    return new EncodedBatch(batchSize, seqLen, inputIds, attentionMask, tokenTypeIds, 0, real);
  }

  public int size() {
    return batchSize;
  }

  public int[] labels() {
    return labels;
  }

  /** FP32 outputs per example, or null before the reference ran. */
  public float[][] reference() {
    return reference;
  }

  public LabeledBatch withReference(float[][] outputs) {
    return new LabeledBatch(encoded(), labels, outputs);
  }
}
