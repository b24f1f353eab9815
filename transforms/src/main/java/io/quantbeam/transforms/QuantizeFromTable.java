package io.quantbeam.transforms;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.quant.NodeDecision;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.stats.CalibrationTable;
import java.io.IOException;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;

/**
 * Quantizes the model with a calibration table (a singleton) and writes, into the output folder,
 * the table ({@value Quantbeam#TABLE_FILE}) and the model ({@value Quantbeam#MODEL_FILE}), each to
 * a temporary name first and then renamed, in that order (as {@link Quantbeam#write} does). Emits
 * one JSON summary: the model's SHA-256 and size, the table's SHA-256 and tensor count, and the
 * per-node decisions. The output folder is a {@link SharedFiles} spec that the workers and the
 * client both reach (a shared file system, or the local disk when they are one machine).
 */
public final class QuantizeFromTable
    extends PTransform<PCollection<CalibrationTable>, PCollection<String>> {
  private final String modelPath;
  private final QuantSettings settings;
  private final String outputDir;

  private QuantizeFromTable(String modelPath, QuantSettings settings, String outputDir) {
    this.modelPath = modelPath;
    this.settings = settings;
    this.outputDir = outputDir;
  }

  public static QuantizeFromTable of(String modelPath, QuantSettings settings, String outputDir) {
    return new QuantizeFromTable(modelPath, settings, outputDir);
  }

  @Override
  public PCollection<String> expand(PCollection<CalibrationTable> table) {
    return table.apply("QuantizeAndWrite", ParDo.of(new QuantizeFn(modelPath, settings, outputDir)))
        .setCoder(StringUtf8Coder.of());
  }

  static final class QuantizeFn extends DoFn<CalibrationTable, String> {
    private final String modelPath;
    private final QuantSettings settings;
    private final String outputDir;

    QuantizeFn(String modelPath, QuantSettings settings, String outputDir) {
      this.modelPath = modelPath;
      this.settings = settings;
      this.outputDir = outputDir;
    }

    @ProcessElement
    public void process(@Element CalibrationTable table, OutputReceiver<String> out)
        throws IOException {
      ModelProto prepared = QdqQuantizer.prepare(WorkerFiles.loadModel(modelPath));
      QdqQuantizer.Result result = QdqQuantizer.quantize(prepared, table, settings.toConfig());
      // the output folder is on a file system the client reads too (beside --output), never a
      // worker's own disk; a file system without folders needs none created
      WorkerFiles.Written tableFile = WorkerFiles.writeTable(table,
          SharedFiles.resolve(outputDir, Quantbeam.TABLE_FILE));
      WorkerFiles.Written modelFile = WorkerFiles.writeModel(result.model(),
          SharedFiles.resolve(outputDir, Quantbeam.MODEL_FILE));
      out.output(summary(table, result, tableFile, modelFile));
    }

    private static String summary(CalibrationTable table, QdqQuantizer.Result result,
        WorkerFiles.Written tableFile, WorkerFiles.Written modelFile) throws IOException {
      ObjectMapper json = new ObjectMapper();
      ObjectNode s = json.createObjectNode();
      s.put("modelPath", modelFile.path());
      s.put("modelSha256", modelFile.sha256());
      s.put("modelSizeBytes", modelFile.sizeBytes());
      s.put("tablePath", tableFile.path());
      s.put("tableSha256", tableFile.sha256());
      s.put("tensors", table.tensors().size());
      s.put("quantizedNodes", result.quantizedNodes());
      ArrayNode decisions = s.putArray("decisions");
      for (NodeDecision d : result.decisions()) {
        decisions.addObject().put("node", d.node()).put("opType", d.opType())
            .put("quantized", d.quantized()).put("detail", d.detail());
      }
      return json.writeValueAsString(s);
    }
  }
}
