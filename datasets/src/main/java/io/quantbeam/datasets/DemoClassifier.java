package io.quantbeam.datasets;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.model.ClassifierHead;
import io.quantbeam.core.model.LogisticRegression;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.runtime.ClasspathResources;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.runtime.SentenceEmbedder;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.text.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The demo classifier, built reproducibly: all-MiniLM-L6-v2 (from its Maven artifact) + masked
 * mean pooling + L2 normalisation + a logistic-regression head fitted (deterministically) on the
 * FP32 embeddings of SST-2 train, appended to the ONNX graph so that one file maps
 * (input_ids, attention_mask, token_type_ids) to logits [batch, 2].
 *
 * <pre>java ... io.quantbeam.datasets.DemoClassifier [cacheFolder] [datasetsFolder]</pre>
 * The model is cached: a second call returns the existing file.
 */
public final class DemoClassifier {
  public static final String FILE = "minilm-sst2-classifier.onnx";
  public static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";
  /** L2 penalty of the head; embeddings are unit vectors, so 1.0 is a mild prior. */
  public static final double L2 = 1.0;

  /** Where the model landed and its FP32 SST-2 dev accuracy (NaN when read from cache). */
  public record Built(Path model, Path tokenizer, double devAccuracy) {}

  private DemoClassifier() {}

  public static Built build(Path cache, Path datasets) {
    Path encoder = ClasspathResources.extract("all-minilm-l6-v2.onnx", cache);
    Path tokenizer = ClasspathResources.extract(TOKENIZER, cache);
    Path out = cache.resolve(FILE);
    if (Files.isRegularFile(out)) {
      return new Built(out, tokenizer, Double.NaN);
    }
    List<LabeledText> train = ParquetExamples.read(datasets.resolve("sst2/train.parquet"));
    List<LabeledText> dev = ParquetExamples.read(datasets.resolve("sst2/dev.parquet"));
    float[][] xTrain;
    float[][] xDev;
    try (SentenceEmbedder e = new SentenceEmbedder(OrtSessions.open(encoder, 0),
        TextTokenizer.fromFile(tokenizer, TextTokenizer.DEFAULT_MAX_LENGTH))) {
      xTrain = e.embed(train.stream().map(LabeledText::text).toList(), 32);
      xDev = e.embed(dev.stream().map(LabeledText::text).toList(), 32);
    }
    int[] y = train.stream().mapToInt(LabeledText::label).toArray();
    LogisticRegression.Model head = LogisticRegression.fit(xTrain, y, L2, 20);
    int correct = 0;
    for (int i = 0; i < dev.size(); i++) {
      correct += (head.logit(xDev[i]) > 0 ? 1 : 0) == dev.get(i).label() ? 1 : 0;
    }
    ModelProto classifier = ClassifierHead.append(OnnxModelIO.load(encoder), "last_hidden_state",
        "attention_mask", head);
    OnnxModelIO.save(classifier, out);
    return new Built(out, tokenizer, (double) correct / dev.size());
  }

  public static void main(String[] args) throws IOException {
    Path cache = Path.of(args.length > 0 ? args[0] : "target/demo");
    Path datasets = Path.of(args.length > 1 ? args[1] : "datasets");
    if (!Files.isDirectory(datasets.resolve("sst2"))) {
      throw new QuantbeamException("No SST-2 Parquet files under " + datasets
          + "; run from the repository root or pass the datasets folder.");
    }
    long t0 = System.nanoTime();
    Built b = build(cache, datasets);
    System.out.printf(Locale.ROOT, "demo classifier: %s (%.1f MB) in %.0f s; FP32 SST-2 dev"
        + " accuracy %s%n", b.model(), Files.size(b.model()) / 1e6, (System.nanoTime() - t0) / 1e9,
        Double.isNaN(b.devAccuracy()) ? "(cached)" : String.format(Locale.ROOT, "%.2f%%",
            100 * b.devAccuracy()));
  }
}
