package io.quantbeam.transforms;

import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.calib.DataFingerprint;
import io.quantbeam.core.stats.CalibrationTable;
import java.util.List;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Calibration texts to the global calibration table: the corpus fingerprint (a side input that
 * keys the cache), batches, one inference pass with the calibrated tensors exposed, and the exact
 * merge.
 *
 * <pre>
 * texts ─┬─► FingerprintTexts ─► (side input) ───────────┐
 *        └─► TokenizeAndBatch ─► ObserveActivations ─► MergeStatistics ─► table
 * </pre>
 */
public final class Calibrate extends PTransform<PCollection<String>, PCollection<CalibrationTable>> {
  private final String modelPath;
  private final String modelSha256;
  private final List<String> tensors;
  private final String tokenizerPath;
  private final int maxLength;
  private final int batchSize;
  private final int buckets;
  private final int intraOpThreads;
  private final SessionPool sessions;

  private Calibrate(String modelPath, String modelSha256, List<String> tensors,
      String tokenizerPath, int maxLength, int batchSize, int buckets, int intraOpThreads,
      SessionPool sessions) {
    this.modelPath = modelPath;
    this.modelSha256 = modelSha256;
    this.tensors = List.copyOf(tensors);
    this.tokenizerPath = tokenizerPath;
    this.maxLength = maxLength;
    this.batchSize = batchSize;
    this.buckets = buckets;
    this.intraOpThreads = intraOpThreads;
    this.sessions = sessions;
  }

  /**
   * @param modelPath the float model; {@code modelSha256} its hash (recorded in the table)
   * @param tensors the tensors to calibrate, {@code QdqQuantizer.tensorsToCalibrate}
   */
  public static Calibrate of(String modelPath, String modelSha256, List<String> tensors,
      String tokenizerPath, int maxLength, int batchSize, int buckets, int intraOpThreads) {
    return new Calibrate(modelPath, modelSha256, tensors, tokenizerPath, maxLength, batchSize,
        buckets, intraOpThreads, SessionPool.worker());
  }

  /** The same, with sessions and tokenizer from {@code sessions} instead of the worker pool. */
  public Calibrate withSessionPool(SessionPool sessions) {
    return new Calibrate(modelPath, modelSha256, tensors, tokenizerPath, maxLength, batchSize,
        buckets, intraOpThreads, sessions);
  }

  @Override
  public PCollection<CalibrationTable> expand(PCollection<String> texts) {
    PCollectionView<DataFingerprint> fingerprint = texts
        .apply("FingerprintTexts", FingerprintTexts.create())
        .apply("AsSingleton", View.asSingleton());
    return texts
        .apply("TokenizeAndBatch", TokenizeAndBatch.of(tokenizerPath, maxLength, batchSize,
            buckets).withSessionPool(sessions))
        .apply("ObserveActivations", ObserveActivations.of(modelPath, tensors, intraOpThreads)
            .withSessionPool(sessions))
        .apply("MergeStatistics", MergeStatistics.withMetadata(modelSha256, fingerprint,
            Quantbeam.calibrationSettings(WorkerFiles.sha256(tokenizerPath), maxLength,
                batchSize, buckets)));
  }
}
