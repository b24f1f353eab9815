package io.quantbeam.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.calib.Calibrator;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.graph.Tensors;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.stats.CalibrationMethod;
import io.quantbeam.core.stats.CalibrationParams;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.testing.GraphBuilder;
import io.quantbeam.core.testing.TestInputs;
import io.quantbeam.core.testing.TinyTransformer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The QDQ writer on tiny BERT-shaped encoders built in test code (2 layers, hidden 32, a mask). */
class QdqQuantizerTest {
  private static final int VOCAB = TinyTransformer.Config.defaults().vocab();

  static List<TestInputs.Batch> batches(long seed, int count) {
    List<TestInputs.Batch> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(TestInputs.random(seed + i, 4, 6 + (i % 3) * 5, VOCAB)); // ragged shapes
    }
    return out;
  }

  /** Per-batch statistics, so tests can merge them in any partition. */
  static List<Map<String, TensorStats>> observe(ModelProto prepared, QuantConfig config,
      List<TestInputs.Batch> batches) {
    List<String> tensors = QdqQuantizer.tensorsToCalibrate(prepared, config);
    List<Map<String, TensorStats>> perBatch = new ArrayList<>();
    try (Calibrator c = new Calibrator(prepared, tensors, 1)) {
      for (TestInputs.Batch b : batches) {
        Map<String, TensorStats> stats = c.newStatistics();
        Map<String, OnnxTensor> feed = feed(b);
        try {
          c.observe(feed, stats);
        } finally {
          feed.values().forEach(OnnxTensor::close);
        }
        perBatch.add(stats);
      }
    }
    return perBatch;
  }

  static CalibrationTable calibrate(ModelProto prepared, QuantConfig config,
      List<TestInputs.Batch> batches) {
    CalibrationTable table = null;
    for (Map<String, TensorStats> s : observe(prepared, config, batches)) {
      CalibrationTable t = new CalibrationTable(s, Map.of());
      table = table == null ? t : table.merge(t);
    }
    return table;
  }

  static Map<String, OnnxTensor> feed(TestInputs.Batch b) {
    try {
      Map<String, OnnxTensor> m = new LinkedHashMap<>();
      m.put("input_ids", OnnxTensor.createTensor(TestInputs.env(), b.inputIds()));
      m.put("attention_mask", OnnxTensor.createTensor(TestInputs.env(), b.attentionMask()));
      m.put("token_type_ids", OnnxTensor.createTensor(TestInputs.env(), b.tokenTypeIds()));
      return m;
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }

  /** SQNR in dB of the quantized model's outputs against the float model's, over held-out batches. */
  static double sqnr(ModelProto fp32, ModelProto int8, String output) {
    double signal = 0;
    double noise = 0;
    for (TestInputs.Batch b : batches(1000, 4)) {
      float[] x = TestInputs.run(fp32, b).get(output).data();
      float[] y = TestInputs.run(int8, b).get(output).data();
      for (int i = 0; i < x.length; i++) {
        signal += (double) x[i] * x[i];
        noise += (double) (x[i] - y[i]) * (x[i] - y[i]);
      }
    }
    return 10 * Math.log10(signal / noise);
  }

  static QdqQuantizer.Result quantizeTiny(ModelProto model, QuantConfig config) {
    ModelProto prepared = QdqQuantizer.prepare(model);
    CalibrationTable table = calibrate(prepared, config, batches(1, 8));
    return QdqQuantizer.quantize(prepared, table, config);
  }

  @Test
  void defaultScopeIsFaithfulAndQuantizesWhatItShould() {
    ModelProto fp32 = TinyTransformer.build();
    QdqQuantizer.Result r = quantizeTiny(fp32, QuantConfig.defaults());
    double db = sqnr(fp32, r.model(), "last_hidden_state");
    assertTrue(db >= 25, "SQNR " + db + " dB");

    GraphView view = new GraphView(r.model().getGraph());
    assertEquals(13, io.quantbeam.core.onnx.OpsetUpgrade.defaultOpset(r.model()));
    // 2 layers x (Q, K, V, attention output, FFN in, FFN out) weight MatMuls are quantized ...
    long matmuls = r.decisions().stream()
        .filter(d -> d.quantized() && d.opType().equals("MatMul")).count();
    assertEquals(12, matmuls);
    // ... the 4 attention MatMuls of two activations are not, with a reason ...
    List<NodeDecision> attention = r.decisions().stream()
        .filter(d -> !d.quantized() && d.opType().equals("MatMul")).toList();
    assertEquals(4, attention.size());
    assertTrue(attention.get(0).detail().contains("activations"));
    // ... the three embedding tables are stored in 8 bits and no float weight is left behind.
    assertEquals(3, r.decisions().stream()
        .filter(d -> d.quantized() && d.opType().equals("Gather")).count());
    for (TensorProto t : r.model().getGraph().getInitializerList()) {
      assertFalse(t.getDataType() == TensorProto.DataType.FLOAT_VALUE && t.getDimsCount() == 2,
          "float matrix left in the model: " + t.getName());
    }
    // Nothing on the mask path went through Q/DQ.
    Set<String> mask = QdqQuantizer.maskPath(new GraphView(
        QdqQuantizer.prepare(fp32).getGraph()));
    for (NodeProto n : r.model().getGraph().getNodeList()) {
      if (n.getOpType().equals("QuantizeLinear")) {
        assertFalse(mask.contains(n.getInput(0)), n.getName());
      }
    }
    assertNotNull(view.node("encoder.layer.0.attention.self.query.weight_DequantizeLinear"));
  }

  @Test
  void namesFollowTheReferenceTool() {
    ModelProto fp32 = TinyTransformer.build();
    ModelProto q = quantizeTiny(fp32, QuantConfig.defaults()).model();
    GraphView view = new GraphView(q.getGraph());
    NodeProto qnode = q.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("QuantizeLinear")).findFirst().orElseThrow();
    String t = qnode.getInput(0);
    assertEquals(t + "_QuantizeLinear", qnode.getName());
    assertEquals(List.of(t, t + "_scale", t + "_zero_point"), qnode.getInputList());
    assertEquals(t + "_QuantizeLinear_Output", qnode.getOutput(0));
    NodeProto dq = view.consumers(t + "_QuantizeLinear_Output").get(0);
    assertEquals(t + "_DequantizeLinear", dq.getName());
    assertEquals(t + "_DequantizeLinear_Output", dq.getOutput(0));
    String w = "encoder.layer.0.attention.self.query.weight";
    assertTrue(view.isInitializer(w + "_quantized"));
    assertTrue(view.isInitializer(w + "_scale"));
    assertTrue(view.isInitializer(w + "_zero_point"));
    assertFalse(view.isInitializer(w));
  }

  @Test
  void perChannelWeightsAreSymmetricInt8WithinHalfAStep() {
    ModelProto fp32 = QdqQuantizer.prepare(TinyTransformer.build());
    ModelProto q = quantizeTiny(fp32, QuantConfig.defaults()).model();
    GraphView before = new GraphView(fp32.getGraph());
    GraphView after = new GraphView(q.getGraph());
    String w = "encoder.layer.1.intermediate.dense.weight";
    TensorProto original = before.initializer(w);
    float[] values = Tensors.floats(original);
    int rows = (int) original.getDims(0);
    int cols = (int) original.getDims(1);
    TensorProto qt = after.initializer(w + "_quantized");
    assertEquals(TensorProto.DataType.INT8_VALUE, qt.getDataType());
    byte[] qv = qt.getRawData().toByteArray();
    float[] scales = Tensors.floats(after.initializer(w + "_scale"));
    assertEquals(cols, scales.length); // one scale per output channel (axis 1 of [K, N])
    byte[] zps = after.initializer(w + "_zero_point").getRawData().toByteArray();
    for (byte z : zps) {
      assertEquals(0, z);
    }
    NodeProto dq = after.node(w + "_DequantizeLinear");
    assertEquals(1, GraphView.attribute(dq, "axis").getI());
    for (int c = 0; c < cols; c++) {
      float absMax = 0;
      for (int r = 0; r < rows; r++) {
        absMax = Math.max(absMax, Math.abs(values[r * cols + c]));
      }
      assertEquals((float) (2.0 * absMax / 254), scales[c], 0f, "channel " + c);
      for (int r = 0; r < rows; r++) {
        float back = qv[r * cols + c] * scales[c];
        assertTrue(Math.abs(back - values[r * cols + c]) <= scales[c] / 2 + 1e-7f);
      }
    }
  }

  static Stream<Arguments> options() {
    List<Arguments> out = new ArrayList<>();
    for (CalibrationMethod m : CalibrationMethod.values()) {
      for (QuantType act : List.of(QuantType.UINT8, QuantType.INT8)) {
        for (boolean perChannel : List.of(true, false)) {
          for (boolean reduce : List.of(false, true)) {
            out.add(Arguments.of(m, act, perChannel, reduce, act == QuantType.INT8));
          }
        }
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} act={1} perChannel={2} reduceRange={3} symmetric={4}")
  @MethodSource("options")
  void everyOptionLoadsInOnnxRuntimeAndKeeps25dB(CalibrationMethod method, QuantType act,
      boolean perChannel, boolean reduce, boolean symmetric) {
    ModelProto fp32 = TinyTransformer.build();
    QuantConfig config = QuantConfig.defaults()
        .withCalibration(CalibrationParams.of(method))
        .withTypes(act, QuantType.INT8)
        .withPerChannel(perChannel)
        .withReduceRange(reduce)
        .withSymmetricActivations(symmetric);
    double db = sqnr(fp32, quantizeTiny(fp32, config).model(), "last_hidden_state");
    assertTrue(db >= 25, "SQNR " + db + " dB");
  }

  @Test
  void classifierHeadGemmGetsInt32Bias() {
    ModelProto fp32 = TinyTransformer.withClassifierHead(2);
    QdqQuantizer.Result r = quantizeTiny(fp32, QuantConfig.defaults());
    GraphView view = new GraphView(r.model().getGraph());
    TensorProto bias = view.initializer("classifier.bias_quantized");
    assertNotNull(bias, "Gemm bias stored quantized");
    assertEquals(TensorProto.DataType.INT32_VALUE, bias.getDataType());
    double db = sqnr(fp32, r.model(), "logits");
    assertTrue(db >= 25, "SQNR " + db + " dB");
  }

  @Test
  void excludedNodeReadsItsFloatInput() {
    ModelProto fp32 = TinyTransformer.build();
    String node = "/encoder/layer.0/attention/self/query/MatMul";
    QdqQuantizer.Result r = quantizeTiny(fp32, QuantConfig.defaults().withExcludeNodes(Set.of(node)));
    GraphView view = new GraphView(r.model().getGraph());
    NodeProto n = view.node(node);
    assertNotNull(n);
    assertFalse(n.getInput(0).endsWith("_DequantizeLinear_Output"), n.getInput(0));
    assertFalse(n.getInput(1).endsWith("_DequantizeLinear_Output"), n.getInput(1));
    // Its sibling (key) still reads the shared Q/DQ pair.
    NodeProto key = view.node("/encoder/layer.0/attention/self/key/MatMul");
    assertTrue(key.getInput(0).endsWith("_DequantizeLinear_Output"));
    assertEquals("excluded by configuration", r.decisions().stream()
        .filter(d -> d.node().equals(node)).findFirst().orElseThrow().detail());
  }

  @Test
  void unknownExclusionNamesNearMatches() {
    ModelProto fp32 = TinyTransformer.build();
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> quantizeTiny(fp32,
        QuantConfig.defaults().withExcludeNodes(Set.of("/encoder/layer.0/attention/self/qery/MatMul"))));
    assertTrue(e.getMessage().contains("/encoder/layer.0/attention/self/query/MatMul"),
        e.getMessage());
  }

  @Test
  void statisticsMergedOverRandomPartitionsGiveIdenticalModelBytes() {
    ModelProto prepared = QdqQuantizer.prepare(TinyTransformer.build());
    List<Map<String, TensorStats>> perBatch =
        observe(prepared, QuantConfig.defaults(), batches(7, 12));
    for (CalibrationMethod method : List.of(CalibrationMethod.MINMAX,
        CalibrationMethod.PERCENTILE, CalibrationMethod.ENTROPY)) {
      QuantConfig config = QuantConfig.defaults().withCalibration(CalibrationParams.of(method));
      byte[] reference = null;
      for (int seed = 0; seed < 6; seed++) {
        List<CalibrationTable> parts = new ArrayList<>();
        for (Map<String, TensorStats> s : perBatch) {
          parts.add(new CalibrationTable(s, Map.of()));
        }
        Collections.shuffle(parts, new Random(seed));
        Random r = new Random(seed * 31L);
        while (parts.size() > 1) { // merge random pairs: random tree shapes
          int i = r.nextInt(parts.size());
          CalibrationTable a = parts.remove(i);
          int j = r.nextInt(parts.size());
          CalibrationTable b = parts.remove(j);
          parts.add(r.nextBoolean() ? a.merge(b) : b.merge(a));
        }
        byte[] bytes = OnnxModelIO.toBytes(
            QdqQuantizer.quantize(prepared, parts.get(0), config).model());
        if (reference == null) {
          reference = bytes;
        } else {
          assertArrayEquals(reference, bytes, method + " seed " + seed);
        }
      }
    }
  }

  @Test
  void modelWithNothingToQuantizeIsRefused() {
    GraphBuilder g = new GraphBuilder("adds");
    g.input("x", TensorProto.DataType.FLOAT_VALUE, "n", 4L);
    g.output("y", TensorProto.DataType.FLOAT_VALUE, "n", 4L);
    g.floatInit("b", new float[] {1, 2, 3, 4}, 4);
    g.node("Add", "add", List.of("x", "b"), List.of("y"));
    ModelProto m = g.model(13);
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> QdqQuantizer.quantize(m, CalibrationTable.empty(), QuantConfig.defaults()));
    assertTrue(e.getMessage().contains("no float tensors to quantize"), e.getMessage());
    assertThrows(QuantbeamException.class,
        () -> new Calibrator(m, QdqQuantizer.tensorsToCalibrate(m, QuantConfig.defaults()), 1));
  }
}
