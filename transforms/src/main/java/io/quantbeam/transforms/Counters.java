package io.quantbeam.transforms;

import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;

/** The names of the pipeline's Beam counters (namespace {@value #NAMESPACE}), read by reports. */
public final class Counters {
  public static final String NAMESPACE = "quantbeam";

  public static final String ROWS_READ = "rowsRead";
  public static final String SKIPPED_EMPTY = "skippedEmptyText";
  public static final String SKIPPED_UNDECODABLE = "skippedUndecodableText";
  public static final String BAD_LABELS = "unreadableLabels";
  public static final String TEXTS_BATCHED = "textsBatched";
  public static final String TRUNCATED = "truncatedTexts";
  public static final String BATCHES = "batches";
  public static final String TOKENS = "tokens";
  public static final String EXAMPLES_OBSERVED = "examplesObserved";
  public static final String BATCHES_OBSERVED = "batchesObserved";

  private Counters() {}

  static Counter counter(String name) {
    return Metrics.counter(NAMESPACE, name);
  }
}
