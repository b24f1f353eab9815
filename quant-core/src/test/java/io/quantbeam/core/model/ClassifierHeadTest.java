package io.quantbeam.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.runtime.SentenceEmbedder;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassifierHeadTest {
  @TempDir Path dir;

  @Test
  void logisticRegressionSeparatesGaussians() {
    Random r = new Random(7);
    int n = 400;
    float[][] x = new float[n][3];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % 2;
      for (int j = 0; j < 3; j++) {
        x[i][j] = (float) (r.nextGaussian() + (y[i] == 1 ? 1.5 : -1.5) * (j == 0 ? 1 : 0));
      }
    }
    LogisticRegression.Model m = LogisticRegression.fit(x, y, 1e-3, 15);
    int correct = 0;
    for (int i = 0; i < n; i++) {
      correct += (m.logit(x[i]) > 0 ? 1 : 0) == y[i] ? 1 : 0;
    }
    assertTrue(correct > 0.9 * n, correct + " of " + n);
    assertTrue(m.weights()[0] > 5 * Math.abs(m.weights()[1]), "feature 0 carries the signal");
    // Deterministic.
    assertEquals(m.bias(), LogisticRegression.fit(x, y, 1e-3, 15).bias(), 0.0);
  }

  @Test
  void miniLmWithHeadGivesTheSameLogitsAsJava() throws Exception {
    List<LabeledText> train = TestData.sst2Train().subList(0, 600);
    List<LabeledText> dev = TestData.sst2Dev().subList(0, 200);
    float[][] xTrain;
    float[][] xDev;
    try (SentenceEmbedder e = new SentenceEmbedder(OrtSessions.open(MiniLm.model(), 2),
        TextTokenizer.fromFile(MiniLm.tokenizer(), 128))) {
      xTrain = e.embed(TestData.texts(train), 32);
      xDev = e.embed(TestData.texts(dev), 32);
    }
    int[] y = train.stream().mapToInt(LabeledText::label).toArray();
    LogisticRegression.Model head = LogisticRegression.fit(xTrain, y, 1.0, 15);
    ModelProto classifier = ClassifierHead.append(OnnxModelIO.load(MiniLm.model()),
        "last_hidden_state", "attention_mask", head);
    Path file = dir.resolve("classifier.onnx");
    OnnxModelIO.save(classifier, file);

    int correct = 0;
    try (OrtSession s = OrtSessions.open(file, 2);
        TextTokenizer tok = TextTokenizer.fromFile(MiniLm.tokenizer(), 128)) {
      List<String> texts = TestData.texts(dev);
      for (int start = 0; start < texts.size(); start += 50) {
        EncodedBatch b = tok.encode(texts.subList(start, start + 50));
        Map<String, OnnxTensor> in = b.toOnnxInputs(OrtEnvironment.getEnvironment(),
            s.getInputNames());
        try (OrtSession.Result out = s.run(in)) {
          float[][] logits = (float[][]) out.get(ClassifierHead.LOGITS).orElseThrow().getValue();
          for (int i = 0; i < logits.length; i++) {
            double expected = head.logit(xDev[start + i]);
            assertEquals(0f, logits[i][0], 0f);
            assertEquals(expected, logits[i][1], 1e-3 * Math.max(1, Math.abs(expected)));
            correct += (logits[i][1] > 0 ? 1 : 0) == dev.get(start + i).label() ? 1 : 0;
          }
        } finally {
          in.values().forEach(OnnxTensor::close);
        }
      }
    }
    assertTrue(correct > 0.7 * dev.size(), "dev accuracy " + correct + "/" + dev.size());
  }
}
