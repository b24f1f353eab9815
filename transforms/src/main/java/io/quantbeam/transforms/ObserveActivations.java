package io.quantbeam.transforms;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.calib.Calibrator;
import io.quantbeam.core.runtime.ResourcePool;
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
 * <p>The DoFns of a worker JVM lease one calibration session from its {@link SessionPool} for each
 * batch (a map look-up; the pool opens the session once and closes it when idle); its intra-op
 * threads are a parameter, to be capped at about cores / worker threads. Counts
 * {@value Counters#EXAMPLES_OBSERVED} and {@value Counters#BATCHES_OBSERVED}, and logs progress
 * (examples/s) every few seconds.
 */
public final class ObserveActivations
    extends PTransform<PCollection<EncodedBatch>, PCollection<KV<String, TensorStats>>> {
  private static final Logger LOG = LoggerFactory.getLogger(ObserveActivations.class);
  private final String modelPath;
  private final List<String> tensors;
  private final int intraOpThreads;
  private final SessionPool sessions;

  private ObserveActivations(String modelPath, List<String> tensors, int intraOpThreads,
      SessionPool sessions) {
    this.modelPath = modelPath;
    this.tensors = List.copyOf(tensors);
    this.intraOpThreads = intraOpThreads;
    this.sessions = sessions;
  }

  /**
   * @param modelPath the float model (prepared with {@code QdqQuantizer.prepare} on the worker)
   * @param tensors the tensors to observe, {@code QdqQuantizer.tensorsToCalibrate}
   * @param intraOpThreads ONNX Runtime intra-op threads per session (0: ORT's default)
   */
  public static ObserveActivations of(String modelPath, List<String> tensors, int intraOpThreads) {
    return new ObserveActivations(modelPath, tensors, intraOpThreads, SessionPool.worker());
  }

  /** The same, with sessions from {@code sessions} instead of the worker pool. */
  public ObserveActivations withSessionPool(SessionPool sessions) {
    return new ObserveActivations(modelPath, tensors, intraOpThreads, sessions);
  }

  /**
   * Opens the calibration session in {@code sessions} on a background thread now, so that it is
   * ready when the first batch arrives instead of after the corpus is read and grouped. Only for a
   * runner whose workers are this JVM (DirectRunner); elsewhere it would load the model where
   * nothing uses it. Left idle, the pool closes it like any other.
   */
  public static void openSessionInBackground(SessionPool sessions, String modelPath,
      List<String> tensors, int intraOpThreads) {
    Thread t = new Thread(() -> {
      try (ResourcePool.Lease<CalibrationSession> ignored = lease(sessions,
          sessionKey(modelPath, tensors, intraOpThreads), modelPath, tensors, intraOpThreads)) {
        // opened; given back at once, idle until the first batch leases it
      } catch (RuntimeException e) {
        // the DoFn's own lease opens it again and reports the error
      }
    }, "quantbeam-open-calibration-session");
    t.setDaemon(true);
    t.start();
  }

  /** A calibration session and the progress of the batches it observed, for the log line. */
  record CalibrationSession(Calibrator calibrator, Progress progress) implements AutoCloseable {
    @Override
    public void close() {
      calibrator.close();
      LOG.info("calibration: closed an ONNX Runtime session");
    }
  }

  /** The pool key of a calibration session: the model file, its threads and exposed tensors. */
  static String sessionKey(String modelPath, List<String> tensors, int intraOpThreads) {
    return "calibration\u0000" + SessionPool.fileKey(modelPath) + "\u0000" + intraOpThreads
        + "\u0000" + String.join("\u0000", tensors);
  }

  static ResourcePool.Lease<CalibrationSession> lease(SessionPool sessions, String key,
      String modelPath, List<String> tensors, int intraOpThreads) {
    return sessions.pool().lease(key, () -> {
      try (ResourcePool.Lease<ModelProto> prepared = sessions.preparedModel(modelPath)) {
        Calibrator c = new Calibrator(prepared.get(), tensors, intraOpThreads);
        LOG.info("calibration: opened an ONNX Runtime session on {}", modelPath);
        return new CalibrationSession(c, new Progress());
      }
    });
  }

  @Override
  public PCollection<KV<String, TensorStats>> expand(PCollection<EncodedBatch> batches) {
    return batches
        .apply("RunModel", ParDo.of(new ObserveFn(modelPath, tensors, intraOpThreads, sessions)))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), Coders.TensorStatsCoder.of()));
  }

  static final class ObserveFn extends DoFn<EncodedBatch, KV<String, TensorStats>> {
    private final String modelPath;
    private final List<String> tensors;
    private final int intraOpThreads;
    private final SessionPool sessions;
    private final Counter examples = Counters.counter(Counters.EXAMPLES_OBSERVED);
    private final Counter batchCount = Counters.counter(Counters.BATCHES_OBSERVED);
    private transient String sessionKey;
    private transient Map<String, TensorStats> bundleStats;

    ObserveFn(String modelPath, List<String> tensors, int intraOpThreads, SessionPool sessions) {
      this.modelPath = modelPath;
      this.tensors = tensors;
      this.intraOpThreads = intraOpThreads;
      this.sessions = sessions;
    }

    @Setup
    public void setup() {
      sessionKey = sessionKey(modelPath, tensors, intraOpThreads);
    }

    @StartBundle
    public void startBundle() {
      bundleStats = null;
    }

    @ProcessElement
    public void process(@Element EncodedBatch batch) {
      // leased per batch, so no session stays marked in use if this DoFn is dropped unannounced
      try (ResourcePool.Lease<CalibrationSession> session =
          lease(sessions, sessionKey, modelPath, tensors, intraOpThreads)) {
        Calibrator calibrator = session.get().calibrator();
        if (bundleStats == null) {
          bundleStats = calibrator.newStatistics();
        }
        calibrator.observe(batch, bundleStats);
        session.get().progress().add(batch.batchSize());
      }
      examples.inc(batch.batchSize());
      batchCount.inc();
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
