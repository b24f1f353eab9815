package io.quantbeam.datasets;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Quick check: FP32 vs default INT8 accuracy of the demo classifier on SST-2 dev. */
public final class DemoClassifierCheck {
  public static void main(String[] args) throws Exception {
    Path datasets = Path.of("datasets");
    DemoClassifier.Built b = DemoClassifier.build(Path.of(args[0]), datasets);
    List<String> calibration = ParquetExamples.read(
        datasets.resolve("sst2-glue-phrases/train.parquet")).subList(0, 2000).stream()
        .map(LabeledText::text).toList();
    Quantbeam.Result r = Quantbeam.quantize(b.model(), b.tokenizer(), calibration,
        QuantConfig.defaults(), new Quantbeam.Options(32, 128, 2));
    Path out = Files.createTempDirectory("demo-int8");
    Quantbeam.write(r, out);
    List<LabeledText> dev = ParquetExamples.read(datasets.resolve("sst2/dev.parquet"));
    int[] fp = predict(b.model(), b.tokenizer(), dev);
    int[] q = predict(out.resolve(Quantbeam.MODEL_FILE), b.tokenizer(), dev);
    int cf = 0, cq = 0, agree = 0;
    for (int i = 0; i < dev.size(); i++) {
      cf += fp[i] == dev.get(i).label() ? 1 : 0;
      cq += q[i] == dev.get(i).label() ? 1 : 0;
      agree += fp[i] == q[i] ? 1 : 0;
    }
    System.out.printf("fp32 %.2f%%  int8 %.2f%%  agreement %.2f%%  size %.1f MB%n",
        100.0 * cf / dev.size(), 100.0 * cq / dev.size(), 100.0 * agree / dev.size(),
        Files.size(out.resolve(Quantbeam.MODEL_FILE)) / 1e6);
    r.decisions().stream().filter(d -> !d.quantized() && !d.detail().contains("activations"))
        .forEach(d -> System.out.println("float: " + d));
  }

  static int[] predict(Path model, Path tokenizer, List<LabeledText> rows) throws Exception {
    int[] out = new int[rows.size()];
    try (OrtSession s = OrtSessions.open(model, 2);
        TextTokenizer tok = TextTokenizer.fromFile(tokenizer, 128)) {
      for (int start = 0; start < rows.size(); start += 32) {
        int end = Math.min(rows.size(), start + 32);
        EncodedBatch batch = tok.encode(rows.subList(start, end).stream()
            .map(LabeledText::text).toList());
        Map<String, OnnxTensor> in = batch.toOnnxInputs(OrtEnvironment.getEnvironment(),
            s.getInputNames());
        try (OrtSession.Result res = s.run(in)) {
          float[][] logits = (float[][]) res.get(0).getValue();
          for (int i = 0; i < logits.length; i++) {
            out[start + i] = logits[i][1] > logits[i][0] ? 1 : 0;
          }
        } finally {
          in.values().forEach(OnnxTensor::close);
        }
      }
    }
    return out;
  }
}
