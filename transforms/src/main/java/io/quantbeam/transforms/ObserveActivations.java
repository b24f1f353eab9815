package io.quantbeam.transforms;

import io.quantbeam.core.calib.Calibrator;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.text.EncodedBatch;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the float model on each tokenized batch with the calibrated tensors exposed, and folds the
 * values into per-tensor statistics. Statistics accumulate over a bundle and leave at the bundle's
 * end as partial {@code KV<tensor, TensorStats>}: nothing per example is kept.
 *
 * <p>All DoFn instances of a JVM share one ONNX Runtime session (see {@link SharedResources});
 * its intra-op threads are a parameter, to be capped at about cores / worker threads. Counts
 * {@value Counters#EXAMPLES_OBSERVED} and {@value Counters#BATCHES_OBSERVED}, and logs progress
 * (examples/s) every few seconds.
 */
public final class ObserveActivations
    extends PTransform<PCollection<EncodedBatch>, PCollection<KV<String, TensorStats>>> {
  private final String modelPath;
  private final List<String> tensors;
  private final int intraOpThreads;

  private ObserveActivations(String modelPath, List<String> tensors, int intraOpThreads) {
    this.modelPath = modelPath;
    this.tensors = List.copyOf(tensors);
    this.intraOpThreads = intraOpThreads;
  }

  /**
   * @param modelPath the float model (prepared with {@code QdqQuantizer.prepare} on the worker)
   * @param tensors the tensors to observe, {@code QdqQuantizer.tensorsToCalibrate}
   * @param intraOpThreads ONNX Runtime intra-op threads per session (0: ORT's default)
   */
  public static ObserveActivations of(String modelPath, List<String> tensors, int intraOpThreads) {
    return new ObserveActivations(modelPath, tensors, intraOpThreads);
  }

  /**
   * Opens this JVM's calibration session on a background thread now, so that it is ready when the
   * first batch arrives instead of after the corpus is read and grouped. Only for a runner whose
   * workers are this JVM (DirectRunner); elsewhere it would load the model where nothing uses it.
   */
  public static void openSessionInBackground(String modelPath, List<String> tensors,
      int intraOpThreads) {
    SharedResources.calibratorInBackground(modelPath, tensors, intraOpThreads);
  }

  /**
   * Closes this JVM's calibration sessions, so that the next pipeline opens its own (as a fresh
   * worker would); between pipelines only. DoFns close theirs at teardown; this also closes one
   * opened in the background for a pipeline that never used it.
   */
  public static void closeSharedSessions() {
    SharedResources.closeCalibrators();
  }

  /**
   * Calibration sessions open in this JVM: 0 once its pipelines have torn down (on DirectRunner,
   * shortly after their results are out).
   */
  public static int openSessions() {
    return SharedResources.openCalibrators();
  }

  @Override
  public PCollection<KV<String, TensorStats>> expand(PCollection<EncodedBatch> batches) {
    return batches
        .apply("RunModel", ParDo.of(new ObserveFn(modelPath, tensors, intraOpThreads)))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), Coders.TensorStatsCoder.of()));
  }

  static final class ObserveFn extends DoFn<EncodedBatch, KV<String, TensorStats>> {
    /**
     * Progress per session, for the log line: a session serves one job's DoFns on this JVM, and
     * the next job (or benchmark round) opens a new one, so counts start again from zero.
     */
    private static final Map<Calibrator, Progress> PROGRESS =
        java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    private final String modelPath;
    private final List<String> tensors;
    private final int intraOpThreads;
    private final Counter examples = Counters.counter(Counters.EXAMPLES_OBSERVED);
    private final Counter batchCount = Counters.counter(Counters.BATCHES_OBSERVED);
    private transient Calibrator calibrator;
    private transient Progress progress;
    private transient Map<String, TensorStats> bundleStats;

    ObserveFn(String modelPath, List<String> tensors, int intraOpThreads) {
      this.modelPath = modelPath;
      this.tensors = tensors;
      this.intraOpThreads = intraOpThreads;
    }

    @Setup
    public void setup() {
      calibrator = SharedResources.acquireCalibrator(modelPath, tensors, intraOpThreads);
      progress = PROGRESS.computeIfAbsent(calibrator, c -> new Progress());
    }

    @StartBundle
    public void startBundle() {
      bundleStats = null;
    }

    @ProcessElement
    public void process(@Element EncodedBatch batch) {
      if (bundleStats == null) {
        bundleStats = calibrator.newStatistics();
      }
      calibrator.observe(batch, bundleStats);
      examples.inc(batch.batchSize());
      batchCount.inc();
      progress.add(batch.batchSize());
    }

    @Teardown
    public void teardown() {
      if (calibrator != null) {
        SharedResources.releaseCalibrator(calibrator);
        calibrator = null;
        progress = null;
      }
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) {
      if (bundleStats == null) {
        return;
      }
      for (Map.Entry<String, TensorStats> e : bundleStats.entrySet()) {
        context.output(KV.of(e.getKey(), e.getValue()), GlobalWindow.INSTANCE.maxTimestamp(),
            GlobalWindow.INSTANCE);
      }
      bundleStats = null;
    }
  }

  /** Examples one session observed, logged every few seconds with examples/s. */
  static final class Progress {
    private static final Logger LOG = LoggerFactory.getLogger(ObserveActivations.class);
    private static final long LOG_EVERY_NANOS = 5_000_000_000L;
    private final long start = System.nanoTime();
    private final AtomicLong examples = new AtomicLong();
    private final AtomicLong lastLog = new AtomicLong(start);
    private final java.util.concurrent.atomic.AtomicBoolean firstLogged =
        new java.util.concurrent.atomic.AtomicBoolean();

    void add(long batchExamples) {
      long seen = examples.addAndGet(batchExamples);
      if (firstLogged.compareAndSet(false, true)) {
        // the model is loaded and data flows: worth one line before the periodic ones
        LOG.info("calibration: first batch observed ({} examples)", seen);
      }
      long now = System.nanoTime();
      long last = lastLog.get();
      if (now - last >= LOG_EVERY_NANOS && lastLog.compareAndSet(last, now)) {
        LOG.info(String.format(Locale.ROOT, "calibration: %d examples so far, %.1f examples/s",
            seen, seen / Math.max((now - start) / 1e9, 1e-9)));
      }
    }
  }
}
