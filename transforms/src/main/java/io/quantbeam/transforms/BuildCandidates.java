package io.quantbeam.transforms;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.stats.CalibrationTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Builds candidate models from the calibration cache, no inference: each input is a candidate name,
 * kind and {@link QuantSettings}; the float model and the table (the persisted
 * {@code calibration.qbct}) are read once per JVM. Each model goes to {@code folder/<name>.onnx}
 * through a temporary name and a rename; the same config gives the same bytes. A config the
 * quantizer refuses (e.g. nothing left to quantize) becomes a candidate with its error.
 */
public final class BuildCandidates
    extends PTransform<PCollection<KV<String, KV<String, QuantSettings>>>,
        PCollection<BuiltCandidate>> {
  private static final Map<String, ModelProto> MODELS = new ConcurrentHashMap<>();
  private static final Map<String, CalibrationTable> TABLES = new ConcurrentHashMap<>();

  private final String modelPath;
  private final String tablePath;
  private final String folder;

  private BuildCandidates(String modelPath, String tablePath, String folder) {
    this.modelPath = modelPath;
    this.tablePath = tablePath;
    this.folder = folder;
  }

  /** Inputs: KV(name, KV(kind, settings)). */
  public static BuildCandidates of(String modelPath, String tablePath, String folder) {
    return new BuildCandidates(modelPath, tablePath, folder);
  }

  @Override
  public PCollection<BuiltCandidate> expand(
      PCollection<KV<String, KV<String, QuantSettings>>> specs) {
    return specs.apply("Spread", Reshuffle.viaRandomKey())
        .apply("Quantize", ParDo.of(new BuildFn(modelPath, tablePath, folder)))
        .setCoder(Coders.JavaSerialCoder.of(BuiltCandidate.class));
  }

  static final class BuildFn extends DoFn<KV<String, KV<String, QuantSettings>>, BuiltCandidate> {
    private final String modelPath;
    private final String tablePath;
    private final String folder;

    BuildFn(String modelPath, String tablePath, String folder) {
      this.modelPath = modelPath;
      this.tablePath = tablePath;
      this.folder = folder;
    }

    @ProcessElement
    public void process(@Element KV<String, KV<String, QuantSettings>> spec,
        OutputReceiver<BuiltCandidate> out) throws IOException {
      String name = spec.getKey();
      String kind = spec.getValue().getKey();
      QuantSettings settings = spec.getValue().getValue();
      ModelProto prepared = MODELS.computeIfAbsent(fileKey(modelPath),
          k -> QdqQuantizer.prepare(OnnxModelIO.load(Path.of(modelPath))));
      CalibrationTable table = TABLES.computeIfAbsent(fileKey(tablePath),
          k -> CalibrationTable.read(Path.of(tablePath)));
      QdqQuantizer.Result result;
      try {
        result = QdqQuantizer.quantize(prepared, table, settings.toConfig());
      } catch (QuantbeamException e) {
        out.output(new BuiltCandidate(name, kind, null, null, 0, 0, settings.excludeNodes(),
            e.getMessage()));
        return;
      }
      Path file = Path.of(folder).resolve(name + ".onnx");
      OnnxModelIO.save(result.model(), file);
      out.output(new BuiltCandidate(name, kind, file.toString(), OnnxModelIO.sha256(file),
          Files.size(file), result.quantizedNodes(), settings.excludeNodes(), null));
    }
  }

  /** A file's path, size and time: a rewritten file is a new key. */
  static String fileKey(String path) {
    try {
      Path p = Path.of(path);
      return path + "\u0000" + Files.size(p) + "\u0000" + Files.getLastModifiedTime(p).toMillis();
    } catch (IOException e) {
      throw new QuantbeamException("Cannot read " + path + ": " + e, e);
    }
  }

  /** Drops the per-JVM caches (tests that rewrite a model at the same path). */
  public static void clearCaches() {
    MODELS.clear();
    TABLES.clear();
  }

  static List<String> cachedModels() {
    return List.copyOf(MODELS.keySet());
  }
}
