package io.quantbeam.core.validate;

import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores a few models against a float reference on one machine, batch by batch: the small
 * comparisons (champion vs challenger) that do not need a pipeline. Batches are cut as in
 * calibration, so the result does not depend on the order of the examples.
 */
public final class Evaluate {
  private Evaluate() {}

  /**
   * @param reference the float model every other model is compared with
   * @param models name to model file
   * @param examples texts with labels (-1: no label)
   * @return name to summary, in the order of {@code models}
   */
  public static Map<String, EvalAccumulator.Summary> score(Path reference, Map<String, Path> models,
      Path tokenizer, int maxLength, List<LabeledText> examples, int batchSize,
      int intraOpThreads) {
    Map<String, Integer> labels = new HashMap<>();
    List<String> texts = new ArrayList<>();
    for (LabeledText e : examples) {
      if (labels.putIfAbsent(e.text(), e.label()) == null) {
        texts.add(e.text());
      }
    }
    Map<String, ModelRunner> runners = new LinkedHashMap<>();
    Map<String, EvalAccumulator> acc = new LinkedHashMap<>();
    try (TextTokenizer tok = TextTokenizer.fromFile(tokenizer, maxLength);
        ModelRunner fp32 = new ModelRunner(reference, intraOpThreads)) {
      for (Map.Entry<String, Path> m : models.entrySet()) {
        runners.put(m.getKey(), new ModelRunner(m.getValue(), intraOpThreads));
        acc.put(m.getKey(), new EvalAccumulator(fp32.classes()));
      }
      for (List<String> batch : CalibrationBatches.plan(texts, batchSize,
          CalibrationBatches.DEFAULT_BUCKETS)) {
        EncodedBatch encoded = tok.encode(batch);
        float[][] ref = fp32.run(encoded);
        for (Map.Entry<String, ModelRunner> r : runners.entrySet()) {
          float[][] out = r.getValue().run(encoded);
          for (int i = 0; i < batch.size(); i++) {
            acc.get(r.getKey()).add(ref[i], out[i], labels.get(batch.get(i)));
          }
        }
      }
    } finally {
      runners.values().forEach(ModelRunner::close);
    }
    Map<String, EvalAccumulator.Summary> out = new LinkedHashMap<>();
    acc.forEach((k, v) -> out.put(k, v.summary()));
    return out;
  }
}
