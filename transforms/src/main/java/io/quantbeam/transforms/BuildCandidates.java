package io.quantbeam.transforms;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.stats.CalibrationTable;
import java.io.IOException;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Builds candidate models from the calibration cache, no inference: each input is a candidate name,
 * kind and {@link QuantSettings}; the float model and the table (the persisted
 * {@code calibration.qbct}) are read once per worker JVM and
 * shared through its {@link SessionPool}. Each model goes to {@code folder/<name>.onnx}
 * through a temporary name and a rename; the same config gives the same bytes. A config the
 * quantizer refuses (e.g. nothing left to quantize) becomes a candidate with its error.
 */
public final class BuildCandidates
    extends PTransform<PCollection<KV<String, KV<String, QuantSettings>>>,
        PCollection<BuiltCandidate>> {
  private final String modelPath;
  private final String tablePath;
  private final String folder;
  private final SessionPool sessions;

  private BuildCandidates(String modelPath, String tablePath, String folder,
      SessionPool sessions) {
    this.modelPath = modelPath;
    this.tablePath = tablePath;
    this.folder = folder;
    this.sessions = sessions;
  }

  /** Inputs: KV(name, KV(kind, settings)). */
  public static BuildCandidates of(String modelPath, String tablePath, String folder) {
    return new BuildCandidates(modelPath, tablePath, folder, SessionPool.worker());
  }

  /** The same, with the parsed model and table from {@code sessions} instead of the worker pool. */
  public BuildCandidates withSessionPool(SessionPool sessions) {
    return new BuildCandidates(modelPath, tablePath, folder, sessions);
  }

  @Override
  public PCollection<BuiltCandidate> expand(
      PCollection<KV<String, KV<String, QuantSettings>>> specs) {
    return specs.apply("Spread", Reshuffle.viaRandomKey())
        .apply("Quantize", ParDo.of(new BuildFn(modelPath, tablePath, folder, sessions)))
        .setCoder(Coders.JavaSerialCoder.of(BuiltCandidate.class));
  }

  static final class BuildFn extends DoFn<KV<String, KV<String, QuantSettings>>, BuiltCandidate> {
    private final String modelPath;
    private final String tablePath;
    private final String folder;
    private final SessionPool sessions;

    BuildFn(String modelPath, String tablePath, String folder, SessionPool sessions) {
      this.modelPath = modelPath;
      this.tablePath = tablePath;
      this.folder = folder;
      this.sessions = sessions;
    }

    @ProcessElement
    public void process(@Element KV<String, KV<String, QuantSettings>> spec,
        OutputReceiver<BuiltCandidate> out) throws IOException {
      String name = spec.getKey();
      String kind = spec.getValue().getKey();
      QuantSettings settings = spec.getValue().getValue();
      QdqQuantizer.Result result;
      // the parsed model and table are shared by the worker's candidates and dropped when idle
      try (ResourcePool.Lease<ModelProto> prepared = sessions.preparedModel(modelPath);
          ResourcePool.Lease<CalibrationTable> table = sessions.pool().lease(
              "calibration-table\u0000" + SessionPool.fileKey(tablePath),
              () -> WorkerFiles.readTable(tablePath), t -> { })) {
        try {
          result = QdqQuantizer.quantize(prepared.get(), table.get(), settings.toConfig());
        } catch (QuantbeamException e) {
          out.output(new BuiltCandidate(name, kind, null, null, 0, 0, settings.excludeNodes(),
              e.getMessage()));
          return;
        }
      }
      WorkerFiles.Written file = WorkerFiles.writeModel(result.model(),
          SharedFiles.resolve(folder, name + ".onnx"));
      out.output(new BuiltCandidate(name, kind, file.path(), file.sha256(), file.sizeBytes(),
          result.quantizedNodes(), settings.excludeNodes(), null));
    }
  }
}
