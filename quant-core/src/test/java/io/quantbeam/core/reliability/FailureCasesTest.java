package io.quantbeam.core.reliability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.calib.Calibrator;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.NodeDecision;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.testing.GraphBuilder;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.TextTokenizer;
import java.io.RandomAccessFile;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rows of docs/failures.md that quant-core proves on its own (see that table). */
class FailureCasesTest {
  @TempDir Path dir;

  @Test
  void modelFileOver2GbIsRefusedWithTheExternalDataAdvice() throws Exception {
    // a sparse file: 2 GB of size, no blocks on disk; load must refuse it by its size alone
    Path big = dir.resolve("big.onnx");
    try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
      f.setLength((1L << 31) + 4096);
    }
    try {
      QuantbeamException e = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(big));
      assertTrue(e.getMessage().contains("2 GB") && e.getMessage().contains("external data"),
          e.getMessage());
    } finally {
      Files.delete(big);
    }
  }

  /** x [2, 4] -> MatMul w1 -> com.microsoft:Gelu -> MatMul w2 -> y [2, 3]. */
  private static ModelProto customDomainModel() {
    GraphBuilder g = new GraphBuilder("custom");
    g.input("x", TensorProto.DataType.FLOAT_VALUE, 2L, 4L);
    Random r = new Random(3);
    float[] w1 = new float[4 * 8];
    float[] w2 = new float[8 * 3];
    for (int i = 0; i < w1.length; i++) {
      w1[i] = (float) r.nextGaussian();
    }
    for (int i = 0; i < w2.length; i++) {
      w2[i] = (float) r.nextGaussian();
    }
    g.floatInit("w1", w1, 4, 8);
    g.floatInit("w2", w2, 8, 3);
    g.node("MatMul", "mm1", List.of("x", "w1"), List.of("h"));
    g.node("Gelu", "gelu", List.of("h"), List.of("a"));
    g.graph().getNodeBuilder(1).setDomain("com.microsoft");
    g.node("MatMul", "mm2", List.of("a", "w2"), List.of("y"));
    g.output("y", TensorProto.DataType.FLOAT_VALUE, 2L, 3L);
    return g.model(13).toBuilder()
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
        .build();
  }

  private static CalibrationTable calibrate(ModelProto m, float[][] inputs) throws Exception {
    List<String> tensors = QdqQuantizer.tensorsToCalibrate(m, QuantConfig.defaults());
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (Calibrator c = new Calibrator(QdqQuantizer.prepare(m), tensors, 1)) {
      Map<String, TensorStats> stats = c.newStatistics();
      for (float[] x : inputs) {
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {2, 4})) {
          c.observe(Map.of("x", t), stats);
        }
      }
      return new CalibrationTable(stats, Map.of());
    }
  }

  private static float[] run(ModelProto m, float[] x) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(m.toByteArray(), new OrtSession.SessionOptions());
        OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {2, 4});
        OrtSession.Result out = s.run(Map.of("x", t))) {
      float[][] y = (float[][]) out.get(0).getValue();
      float[] flat = new float[6];
      System.arraycopy(y[0], 0, flat, 0, 3);
      System.arraycopy(y[1], 0, flat, 3, 3);
      return flat;
    }
  }

  @Test
  void customDomainOpsStayFloatAndAreListed() throws Exception {
    ModelProto m = customDomainModel();
    Random r = new Random(5);
    float[][] inputs = new float[8][8];
    for (float[] x : inputs) {
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian();
      }
    }
    QdqQuantizer.Result q = QdqQuantizer.quantize(m, calibrate(m, inputs), QuantConfig.defaults());
    NodeDecision gelu = q.decisions().stream().filter(d -> d.node().equals("gelu")).findFirst()
        .orElseThrow(() -> new AssertionError("custom-domain node not listed: " + q.decisions()));
    assertFalse(gelu.quantized());
    assertEquals("com.microsoft:Gelu", gelu.opType());
    assertTrue(gelu.detail().contains("custom-domain"), gelu.detail());
    assertEquals(2, q.decisions().stream().filter(NodeDecision::quantized).count(), q.decisions().toString());
    assertTrue(q.model().getGraph().getNodeList().stream()
        .anyMatch(n -> n.getOpType().equals("Gelu") && n.getDomain().equals("com.microsoft")));
    float[] expected = run(m, inputs[0]);
    float[] got = run(q.model(), inputs[0]);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], got[i], 0.15 + 0.05 * Math.abs(expected[i]), "output " + i);
    }

    // an op of a custom domain that carries a standard op's name is not taken for it
    ModelProto fake = m.toBuilder().setGraph(m.getGraph().toBuilder().setNode(2,
        m.getGraph().getNode(2).toBuilder().setDomain("com.example"))).addOpsetImport(
            OperatorSetIdProto.newBuilder().setDomain("com.example").setVersion(1)).build();
    assertFalse(QdqQuantizer.tensorsToCalibrate(fake, QuantConfig.defaults()).contains("a"));
  }

  @Test
  void zeroVarianceActivationsQuantizeToAValidModel() throws Exception {
    ModelProto m = customDomainModel();
    for (float value : new float[] {0f, 0.5f}) {
      float[] x = new float[8];
      java.util.Arrays.fill(x, value);
      QdqQuantizer.Result q = QdqQuantizer.quantize(m, calibrate(m, new float[][] {x, x}),
          QuantConfig.defaults().withMinActivationSqnrDb(0));
      float[] expected = run(m, x);
      float[] got = run(q.model(), x);
      for (int i = 0; i < expected.length; i++) {
        assertTrue(Float.isFinite(got[i]), "finite output for constant input " + value);
        assertEquals(expected[i], got[i], 0.05 + 0.05 * Math.abs(expected[i]),
            "constant input " + value + ", output " + i);
      }
    }
  }

  @Test
  void aOneMegabyteTextIsTruncatedNotFatal() {
    try (TextTokenizer tok = TextTokenizer.fromFile(MiniLm.tokenizer(), 128)) {
      String huge = "lorem ipsum dolor ".repeat(60_000); // about 1 MB
      assertTrue(huge.length() > 1_000_000);
      EncodedBatch b = tok.encode(List.of(huge, "short"));
      assertEquals(128, b.seqLen());
      assertEquals(1, b.truncated());
    }
  }

  @Test
  void anOnnxRuntimeFailureOnABatchSuggestsSmallerBatches() throws Exception {
    // the tiny model has 64 positions: 128-token batches make ONNX Runtime fail inside a run, the
    // same path an allocation failure takes
    Path model = dir.resolve("tiny.onnx");
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)), model);
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> Quantbeam.quantize(model,
        MiniLm.tokenizer(), List.of("word ".repeat(200)), QuantConfig.defaults(),
        new Quantbeam.Options(4, 128, 1)));
    assertTrue(e.getMessage().contains("lower --batchSize or --maxSequenceLength"), e.getMessage());
    assertTrue(e.getMessage().contains("batch of 1 x 128"), e.getMessage());
    QuantbeamException tooBig = assertThrows(QuantbeamException.class,
        () -> new Quantbeam.Options(100_000, 512, 1));
    assertTrue(tooBig.getMessage().contains("smaller batches"), tooBig.getMessage());
  }

  /**
   * Disk full while writing, made real with a file-size limit ({@code ulimit -f}: writes past it
   * fail with EFBIG, as they fail with ENOSPC on a full disk) on a child JVM that saves a model and
   * a calibration table over older ones.
   */
  @Test
  void diskFullWhileWritingLeavesTheOlderFilesAndNoPartialFile() throws Exception {
    Path out = Files.createDirectories(dir.resolve("out"));
    byte[] oldModel = "older model".getBytes(StandardCharsets.UTF_8);
    byte[] oldTable = "older table".getBytes(StandardCharsets.UTF_8);
    Files.write(out.resolve(Quantbeam.MODEL_FILE), oldModel);
    Files.write(out.resolve(Quantbeam.TABLE_FILE), oldTable);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // 64 blocks of 1 KB: the tiny model (~150 KB) does not fit
    List<String> cmd = List.of("bash", "-c", "ulimit -f 64 && exec \"$0\" -cp \"$1\" \"$2\" \"$3\"",
        java, System.getProperty("java.class.path"), DiskFullChild.class.getName(), out.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String output;
    try {
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
      output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } finally {
      p.destroyForcibly();
    }
    System.out.println("disk-full child: " + output.trim());
    assertEquals(0, p.exitValue(), output);
    assertTrue(output.contains("model refused: ") && output.contains("check free disk space"), output);
    assertTrue(output.contains("table refused: "), output);
    assertArrayEquals(oldModel, Files.readAllBytes(out.resolve(Quantbeam.MODEL_FILE)));
    assertArrayEquals(oldTable, Files.readAllBytes(out.resolve(Quantbeam.TABLE_FILE)));
    try (Stream<Path> s = Files.list(out)) {
      assertEquals(List.of(Quantbeam.TABLE_FILE, Quantbeam.MODEL_FILE),
          s.map(f -> f.getFileName().toString()).sorted().toList(), "no temporary file left");
    }
  }

  /** Run by the test above in a JVM whose files may not grow past 64 KB. */
  public static final class DiskFullChild {
    public static void main(String[] args) {
      Path out = Path.of(args[0]);
      try {
        OnnxModelIO.save(TinyTransformer.build(), out.resolve(Quantbeam.MODEL_FILE));
        System.out.println("model written?!");
      } catch (QuantbeamException e) {
        System.out.println("model refused: " + e.getMessage());
      }
      Map<String, TensorStats> stats = new java.util.TreeMap<>();
      Random r = new Random(1);
      for (int t = 0; t < 400; t++) {
        TensorStats s = new TensorStats();
        float[] v = new float[4096];
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(40) - 20));
        }
        s.addBatch(v, 0, v.length);
        stats.put("t" + t, s);
      }
      try {
        new CalibrationTable(stats, Map.of()).write(out.resolve(Quantbeam.TABLE_FILE));
        System.out.println("table written?!");
      } catch (QuantbeamException e) {
        System.out.println("table refused: " + e.getMessage());
      }
    }
  }

  /**
   * Resource hygiene, in a child JVM of its own so that memory other tests freed cannot hide a
   * leak (a session held open can reuse it, and then seems to cost nothing): after 10 warm-up
   * sessions (allocator arenas settle), 40 sessions are opened, run and closed in turn; then 10
   * are held open at once to measure what one session costs there. The 40 closed ones may grow
   * resident memory by less than the 10 held ones cost: a leak of one session per close would
   * grow it by about 40.
   */
  @Test
  void fiftySessionsOpenedAndClosedKeepTheNativeFootprintFlat() throws Exception {
    Path model = dir.resolve("tiny.onnx");
    // a 30,522-word table makes one session's footprint (its copy of the weights) a few MB
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)),
        model);
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), SessionFootprint.class.getName(),
        model.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "child JVM did not finish");
    assertEquals(0, p.exitValue(), out);
    String line = out.lines().filter(l -> l.startsWith("footprint ")).findFirst()
        .orElseThrow(() -> new AssertionError("no footprint line in: " + out));
    String[] kb = line.substring("footprint ".length()).trim().split(" ");
    long grown = Long.parseLong(kb[1]) - Long.parseLong(kb[0]);
    long heldTen = Long.parseLong(kb[2]);
    System.out.printf("RSS: %s KB after 10 warm-up sessions, %+d KB after 40 more opened and"
        + " closed; 10 held open cost %d KB%n", kb[0], grown, heldTen);
    assertTrue(heldTen > 0, "holding 10 sessions should cost memory: " + heldTen + " KB");
    assertTrue(grown < heldTen, "40 closed sessions grew RSS by " + grown
        + " KB, more than 10 open ones cost (" + heldTen + " KB): a session leaks on close");
  }

  /** The child JVM: prints "footprint RSS-before RSS-after held-ten-cost" in KB. */
  public static final class SessionFootprint {
    public static void main(String[] args) throws Exception {
      Path model = Path.of(args[0]);
      for (int i = 0; i < 10; i++) {
        try (OrtSession s = OrtSessions.open(model, 1)) {
          runOnce(s);
        }
      }
      long before = rssKb();
      for (int i = 0; i < 40; i++) {
        try (OrtSession s = OrtSessions.open(model, 1)) {
          runOnce(s);
        }
      }
      long after = rssKb();
      List<OrtSession> held = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        held.add(OrtSessions.open(model, 1));
        runOnce(held.get(i));
      }
      System.out.println("footprint " + before + " " + after + " " + (rssKb() - after));
      for (OrtSession s : held) {
        s.close();
      }
    }
  }

  private static void runOnce(OrtSession s) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    long[][] ids = new long[4][16];
    long[][] mask = new long[4][16];
    for (long[] row : mask) {
      java.util.Arrays.fill(row, 1);
    }
    try (OnnxTensor a = OnnxTensor.createTensor(env, ids);
        OnnxTensor b = OnnxTensor.createTensor(env, mask);
        OnnxTensor c = OnnxTensor.createTensor(env, new long[4][16])) {
      Map<String, OnnxTensor> in = new java.util.HashMap<>();
      for (String name : s.getInputNames()) {
        in.put(name, name.contains("mask") ? b : name.contains("type") ? c : a);
      }
      try (OrtSession.Result ignored = s.run(in)) {
        // outputs closed with the result
      }
    }
  }

  private static long rssKb() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }
}
