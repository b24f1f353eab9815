package io.quantbeam.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbeam.core.calib.Calibrator;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.testing.GraphBuilder;
import io.quantbeam.core.testing.TestInputs;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.core.testing.TinyTransformer.Built;
import io.quantbeam.core.testing.TinyTransformer.Export;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.validate.ModelRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The export variants as first-class inputs (issue 16): BERT with token types, DistilBERT (Where
 * mask, output named {@code output}), RoBERTa (position ids from input_ids, no token types) and a
 * BERT optimized by ONNX Runtime (com.microsoft Attention, SkipLayerNormalization, BiasGelu). Each
 * is a seeded tiny classifier ({@link TinyTransformer.Config#classifier}) quantized with the
 * default config.
 */
class ExportVariantsTest {
  private static final int VOCAB = TinyTransformer.Config.defaults().vocab();
  /** Logit margin below which a row is a near tie for agreement (logits are of order 1). */
  private static final double CLEAR_MARGIN = 0.1;

  static Built build(Export e) {
    return TinyTransformer.buildDescribed(TinyTransformer.Config.classifier(e));
  }

  /**
   * Seeded ragged batches in the variant's id conventions: RoBERTa pads with id 1 (its position
   * ids count the tokens that are not 1), so its padding becomes 1 and real ids start at 2.
   */
  static List<TestInputs.Batch> batches(Export e, long seed, int count) {
    List<TestInputs.Batch> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      TestInputs.Batch b = TestInputs.random(seed + i, 4, 6 + (i % 3) * 5, VOCAB);
      out.add(e == Export.ROBERTA ? robertaIds(b) : b);
    }
    return out;
  }

  static TestInputs.Batch robertaIds(TestInputs.Batch b) {
    long[][] ids = new long[b.batch()][b.seq()];
    for (int r = 0; r < b.batch(); r++) {
      for (int s = 0; s < b.seq(); s++) {
        long id = b.inputIds()[r][s];
        ids[r][s] = b.attentionMask()[r][s] == 0 ? TinyTransformer.ROBERTA_PADDING_ID
            : Math.max(id, TinyTransformer.ROBERTA_PADDING_ID + 1);
      }
    }
    return new TestInputs.Batch(ids, b.attentionMask(), b.tokenTypeIds());
  }

  /** The batch as the pipeline hands it to models (fed by the inputs each model declares). */
  static EncodedBatch encoded(TestInputs.Batch b) {
    int n = b.batch() * b.seq();
    long[] ids = new long[n];
    long[] mask = new long[n];
    long[] types = new long[n];
    long real = 0;
    for (int r = 0; r < b.batch(); r++) {
      for (int s = 0; s < b.seq(); s++) {
        ids[r * b.seq() + s] = b.inputIds()[r][s];
        mask[r * b.seq() + s] = b.attentionMask()[r][s];
        types[r * b.seq() + s] = b.tokenTypeIds()[r][s];
        real += b.attentionMask()[r][s];
      }
    }
    return new EncodedBatch(b.batch(), b.seq(), ids, mask, types, 0, real);
  }

  static QdqQuantizer.Result quantize(Export e, Built built, QuantConfig config) {
    ModelProto prepared = QdqQuantizer.prepare(built.model());
    List<String> tensors = QdqQuantizer.tensorsToCalibrate(prepared, config);
    CalibrationTable table = null;
    try (Calibrator c = new Calibrator(prepared, tensors, 1)) {
      for (TestInputs.Batch b : batches(e, 1, 8)) {
        Map<String, TensorStats> stats = c.newStatistics();
        c.observe(encoded(b), stats);
        CalibrationTable t = new CalibrationTable(stats, Map.of());
        table = table == null ? t : table.merge(t);
      }
    }
    return QdqQuantizer.quantize(prepared, table, config);
  }

  @ParameterizedTest
  @EnumSource(Export.class)
  void eachVariantLoadsAndRunsInOnnxRuntime(Export e) {
    Built built = build(e);
    Set<String> inputs = built.model().getGraph().getInputList().stream().map(i -> i.getName())
        .collect(Collectors.toSet());
    boolean tokenTypes = e == Export.BERT || e == Export.ORT_FUSED;
    assertEquals(tokenTypes ? 3 : 2, inputs.size(), inputs.toString());
    assertEquals(tokenTypes, inputs.contains("token_type_ids"));
    assertEquals(e == Export.DISTILBERT ? "output" : "logits", built.output());
    long contribNodes = built.model().getGraph().getNodeList().stream()
        .filter(n -> n.getDomain().equals(GraphBuilder.CONTRIB_DOMAIN)).count();
    assertEquals(e == Export.ORT_FUSED ? 2 * 4 + 1 : 0, contribNodes,
        "per layer Attention, two SkipLayerNormalization and BiasGelu; one for the embeddings");
    for (TestInputs.Batch b : batches(e, 50, 3)) {
      TestInputs.Output out = TestInputs.run(built.model(), b).get(built.output());
      assertArrayEquals(new long[] {b.batch(), 2}, out.shape());
      assertTrue(TestInputs.allFinite(out.data()));
    }
  }

  @ParameterizedTest
  @EnumSource(Export.class)
  void defaultConfigQuantizesTheWordEmbeddingAndAgreesWithFp32(Export e) {
    Built built = build(e);
    QdqQuantizer.Result r = quantize(e, built, QuantConfig.defaults());
    NodeDecision gather = r.decisions().stream()
        .filter(d -> d.node().equals(built.wordEmbeddingGather())).findFirst().orElseThrow();
    assertTrue(gather.quantized(), gather.toString());
    GraphView q = new GraphView(r.model().getGraph());
    String table = q.node(built.wordEmbeddingGather()).getInput(0);
    assertTrue(table.endsWith("word_embeddings.weight_quantized"), table);
    assertEquals(TensorProto.DataType.INT8_VALUE, q.initializer(table).getDataType());
    assertNull(q.initializer(table.replace("_quantized", "")), "the float table is gone");

    // Agreement with FP32 on held-out batches: cosine of the logits, and the same predicted class
    // wherever FP32 is not near a tie (8-bit noise moves these random logits by a few hundredths).
    int agree = 0;
    int rows = 0;
    double dot = 0;
    double xx = 0;
    double yy = 0;
    for (TestInputs.Batch b : batches(e, 1000, 6)) {
      float[] x = TestInputs.run(built.model(), b).get(built.output()).data();
      float[] y = TestInputs.run(r.model(), b).get(built.output()).data();
      for (int i = 0; i < x.length; i += 2) {
        if (Math.abs(x[i] - x[i + 1]) >= CLEAR_MARGIN) {
          agree += (x[i] > x[i + 1]) == (y[i] > y[i + 1]) ? 1 : 0;
          rows++;
        }
      }
      for (int i = 0; i < x.length; i++) {
        dot += (double) x[i] * y[i];
        xx += (double) x[i] * x[i];
        yy += (double) y[i] * y[i];
      }
    }
    double cosine = dot / Math.sqrt(xx * yy);
    assertTrue(cosine > 0.99, e + " cosine " + cosine);
    assertTrue(rows >= 18, e + ": only " + rows + " of 24 rows are clear cases");
    assertEquals(rows, agree, e + ": same class on " + agree + " of " + rows + " clear cases");
  }

  @ParameterizedTest
  @EnumSource(Export.class)
  void theMaskPathIsRecognisedAndNothingOnItIsQuantized(Export e) {
    Built built = build(e);
    assertFalse(built.maskTensors().isEmpty());
    ModelProto prepared = QdqQuantizer.prepare(built.model());
    Set<String> mask = QdqQuantizer.maskPath(new GraphView(prepared.getGraph()));
    for (String t : built.maskTensors()) {
      assertTrue(mask.contains(t), e + ": mask tensor " + t + " not recognised; found " + mask);
    }
    // ... and only the mask: the scores and hidden states it meets are data.
    GraphView fp32 = new GraphView(prepared.getGraph());
    for (NodeProto n : fp32.topologicalOrder()) {
      if (n.getOpType().equals("Softmax") || n.getOpType().equals("MatMul")) {
        assertFalse(mask.contains(n.getInput(0)), n.getName() + " reads the mask path");
      }
    }

    QdqQuantizer.Result r = quantize(e, built, QuantConfig.defaults());
    GraphView q = new GraphView(r.model().getGraph());
    for (NodeProto n : r.model().getGraph().getNodeList()) {
      if (n.getOpType().equals("QuantizeLinear")) {
        assertFalse(mask.contains(n.getInput(0)), n.getName() + " quantizes a mask tensor");
      }
    }
    // Every node on the mask path is in the quantized model as it was (no input rewired to a DQ).
    for (String t : built.maskTensors()) {
      NodeProto before = fp32.producer(t);
      if (before != null) {
        assertEquals(before, q.node(before.getName()), t);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Export.class)
  void quantizingTwiceGivesIdenticalBytes(Export e) {
    byte[] first = OnnxModelIO.toBytes(quantize(e, build(e), QuantConfig.defaults()).model());
    byte[] second = OnnxModelIO.toBytes(quantize(e, build(e), QuantConfig.defaults()).model());
    assertArrayEquals(first, second);
  }

  @Test
  void theOrtFusedModelComputesWhatTheBertExportComputes() {
    // Same seed, same weights drawn in the same order: the fused graph is BERT's function.
    ModelProto bert = build(Export.BERT).model();
    ModelProto fused = build(Export.ORT_FUSED).model();
    for (TestInputs.Batch b : batches(Export.BERT, 70, 3)) {
      float[] x = TestInputs.run(bert, b).get("logits").data();
      float[] y = TestInputs.run(fused, b).get("logits").data();
      assertTrue(TestInputs.maxAbsDiff(x, y) < 1e-4, "max |diff| " + TestInputs.maxAbsDiff(x, y));
    }
  }

  @Test
  void fusedContribNodesStayFloatAndTheMatMulsAroundThemAreQuantized() {
    Built built = build(Export.ORT_FUSED);
    QdqQuantizer.Result r = quantize(Export.ORT_FUSED, built, QuantConfig.defaults());
    GraphView before = new GraphView(QdqQuantizer.prepare(built.model()).getGraph());
    GraphView after = new GraphView(r.model().getGraph());
    for (NodeProto n : before.topologicalOrder()) {
      if (n.getDomain().equals(GraphBuilder.CONTRIB_DOMAIN)) {
        assertEquals(n, after.node(n.getName()), "contrib node rewritten: " + n.getName());
        assertFalse(r.decisions().stream().anyMatch(d -> d.node().equals(n.getName()) && d.quantized()));
      }
    }
    // per layer: attention output, FFN in and FFN out (Q/K/V live inside Attention), plus the head
    List<String> quantizedMatMuls = r.decisions().stream()
        .filter(d -> d.quantized() && d.opType().equals("MatMul")).map(NodeDecision::node).toList();
    assertEquals(2 * 3, quantizedMatMuls.size(), quantizedMatMuls.toString());
    for (int l = 0; l < 2; l++) {
      NodeProto attention = after.node("Attention_" + l);
      assertFalse(attention.getInput(0).endsWith("_DequantizeLinear_Output"));
      assertTrue(after.initializer(attention.getInput(1)).getDataType() == TensorProto.DataType.FLOAT_VALUE,
          "the fused Q/K/V weight stays float (no rule for com.microsoft Attention)");
      NodeProto dense = after.node("/encoder/layer." + l + "/attention/output/dense/MatMul");
      assertTrue(dense.getInput(0).endsWith("_DequantizeLinear_Output"), dense.toString());
    }
    assertTrue(r.decisions().stream().anyMatch(d -> d.node().equals("/classifier/Gemm") && d.quantized()));
  }

  @Test
  void aClassifierOutputNotCalledLogitsIsReadAsLogits(@TempDir Path dir) throws Exception {
    Built built = build(Export.DISTILBERT);
    Path file = dir.resolve("distilbert.int8.onnx");
    Files.write(file, OnnxModelIO.toBytes(quantize(Export.DISTILBERT, built, QuantConfig.defaults()).model()));
    try (ModelRunner runner = new ModelRunner(file, 1)) {
      assertEquals("output", runner.outputName());
      assertEquals(2, runner.classes());
      TestInputs.Batch b = batches(Export.DISTILBERT, 90, 1).get(0);
      float[][] rows = runner.run(encoded(b));
      assertEquals(b.batch(), rows.length);
      assertEquals(2, rows[0].length);
    }
  }

  @Test
  void robertaPositionIdsAreComputedFromInputIdsAndItsTablesAreQuantized() {
    Export e = Export.ROBERTA;
    Built built = build(e);
    GraphView fp32 = new GraphView(QdqQuantizer.prepare(built.model()).getGraph());
    NodeProto positions = fp32.node("/roberta/embeddings/position_embeddings/Gather");
    // the ids come from input_ids (CumSum over non-padding tokens), not from the mask
    List<String> chain = new ArrayList<>();
    for (NodeProto n = fp32.producer(positions.getInput(1)); n != null; n = fp32.producer(n.getInput(0))) {
      chain.add(n.getOpType());
    }
    assertEquals(List.of("Add", "Cast", "Mul", "Cast", "CumSum", "Cast", "Not", "Equal"), chain);
    assertFalse(QdqQuantizer.maskPath(fp32).contains(positions.getInput(1)));
    QdqQuantizer.Result r = quantize(e, built, QuantConfig.defaults());
    for (String table : List.of("word_embeddings", "position_embeddings")) {
      NodeDecision d = r.decisions().stream()
          .filter(x -> x.node().equals("/roberta/embeddings/" + table + "/Gather")).findFirst().orElseThrow();
      assertTrue(d.quantized(), d.toString());
    }
    assertNotNull(new GraphView(r.model().getGraph())
        .initializer("roberta.embeddings.position_embeddings.weight_quantized"));
  }

  @Test
  void anAttentionMaskIndexIsOnTheMaskPathWhateverTheMaskInputIsCalled() {
    ModelProto fused = build(Export.ORT_FUSED).model();
    GraphProto.Builder g = fused.getGraph().toBuilder();
    for (int i = 0; i < g.getInputCount(); i++) {
      if (g.getInput(i).getName().equals("attention_mask")) {
        g.setInput(i, g.getInput(i).toBuilder().setName("input_2"));
      }
    }
    for (int i = 0; i < g.getNodeCount(); i++) {
      NodeProto.Builder n = g.getNode(i).toBuilder();
      for (int j = 0; j < n.getInputCount(); j++) {
        if (n.getInput(j).equals("attention_mask")) {
          n.setInput(j, "input_2");
        }
      }
      g.setNode(i, n);
    }
    GraphView view = new GraphView(g.build());
    String maskIndex = view.node("Attention_0").getInput(3);
    Set<String> mask = QdqQuantizer.maskPath(view);
    assertTrue(mask.contains(maskIndex), mask.toString());
    assertFalse(mask.contains(view.node("Attention_0").getOutput(0)));
  }

  /**
   * ONNX Runtime's optimizer can also fuse the embeddings into EmbedLayerNormalization (int32 ids,
   * the tables, a mask; outputs the float embedding and an int32 mask_index). Without value_info
   * its outputs must still be typed right, or nothing after it would be quantized; the tables it
   * holds stay float (no Gather to read an 8-bit table).
   */
  @Test
  void aModelWithEmbedLayerNormalizationKeepsItsMatMulsQuantized() {
    int h = 8;
    Random rnd = new Random(3);
    GraphBuilder g = new GraphBuilder("eln");
    g.input("input_ids", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length");
    g.input("attention_mask", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length");
    g.input("token_type_ids", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length");
    List<String> int32 = new ArrayList<>();
    for (String in : List.of("input_ids", "token_type_ids", "attention_mask")) {
      int32.add(g.node("Cast", "Cast_" + in, List.of(in),
          GraphBuilder.intAttr("to", TensorProto.DataType.INT32_VALUE)));
    }
    g.floatInit("word", gaussian(rnd, VOCAB * h), VOCAB, h);
    g.floatInit("position", gaussian(rnd, 64 * h), 64, h);
    g.floatInit("segment", gaussian(rnd, 2 * h), 2, h);
    float[] gamma = new float[h];
    Arrays.fill(gamma, 1f);
    g.floatInit("gamma", gamma, h);
    g.floatInit("beta", new float[h], h);
    g.graph().addNode(NodeProto.newBuilder().setName("EmbedLayerNormalization_0")
        .setOpType("EmbedLayerNormalization").setDomain(GraphBuilder.CONTRIB_DOMAIN)
        .addAllInput(List.of(int32.get(0), int32.get(1), "word", "position", "segment", "gamma", "beta",
            int32.get(2)))
        .addAllOutput(List.of("embeddings", "mask_index"))
        .addAttribute(GraphBuilder.floatAttr("epsilon", 1e-12f)));
    g.floatInit("dense.weight", gaussian(rnd, h * h), h, h);
    g.node("MatMul", "/dense/MatMul", List.of("embeddings", "dense.weight"), List.of("last_hidden_state"));
    g.output("last_hidden_state", TensorProto.DataType.FLOAT_VALUE, "batch_size", "sequence_length", (long) h);
    ModelProto model = g.model(13).toBuilder().addOpsetImport(
        OperatorSetIdProto.newBuilder().setDomain(GraphBuilder.CONTRIB_DOMAIN).setVersion(1))
        .build();
    Built built = new Built(model, "last_hidden_state", "none", List.of());

    GraphView view = new GraphView(model.getGraph());
    assertEquals(TensorProto.DataType.FLOAT_VALUE, view.elementType("embeddings"));
    assertEquals(TensorProto.DataType.INT32_VALUE, view.elementType("mask_index"));
    assertTrue(QdqQuantizer.maskPath(view).contains("mask_index"));

    QdqQuantizer.Result r = quantize(Export.ORT_FUSED, built, QuantConfig.defaults());
    assertTrue(r.decisions().stream().anyMatch(d -> d.node().equals("/dense/MatMul") && d.quantized()));
    NodeDecision eln = r.decisions().stream()
        .filter(d -> d.node().equals("EmbedLayerNormalization_0")).findFirst().orElseThrow();
    assertFalse(eln.quantized());
    TestInputs.Batch b = batches(Export.ORT_FUSED, 5, 1).get(0);
    float[] x = TestInputs.run(model, b).get("last_hidden_state").data();
    float[] y = TestInputs.run(r.model(), b).get("last_hidden_state").data();
    assertTrue(TestInputs.maxAbsDiff(x, y) < 0.1, "max |diff| " + TestInputs.maxAbsDiff(x, y));
  }

  private static float[] gaussian(Random rnd, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (0.5 * rnd.nextGaussian());
    }
    return v;
  }
}
